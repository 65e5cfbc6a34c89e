// detail/ops: factories of the runtime's type-erased operator nodes, one per file in
// streams/ops/. The typed DSL templates (kstream.h, ktable.h, ...) wrap user lambdas into the
// std::any signatures below and call these; nothing here is a user API.
#pragma once

#include <any>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "eddy/streams/detail/graph.h"
#include "eddy/streams/windows.h"

namespace eddy::streams::detail::ops {

using kv_predicate = std::function<bool(const std::any& key, const std::any& value)>;
using kv_mapper = std::function<std::pair<std::any, std::any>(const std::any& key, const std::any& value)>;
using value_mapper = std::function<std::any(const std::any& key, const std::any& value)>;
using kv_action = std::function<void(const std::any& key, const std::any& value)>;
using initializer = std::function<std::any()>;
using aggregator = std::function<std::any(const std::any& key, const std::any& value, const std::any& aggregate)>;
// Joiners receive empty anys for the missing side of left/outer joins.
using joiner = std::function<std::any(const std::any& key, const std::any& left, const std::any& right)>;

enum class join_kind { inner, left, outer };

node_factory passthrough();
node_factory filter(kv_predicate pred, bool negate);
node_factory map(kv_mapper fn);
node_factory map_values(value_mapper fn);
node_factory flat_map(std::function<std::vector<std::pair<std::any, std::any>>(const std::any&, const std::any&)> fn);
node_factory flat_map_values(std::function<std::vector<std::any>(const std::any&, const std::any&)> fn);
node_factory select_key(value_mapper fn);
// peek forwards, foreach does not.
node_factory peek(kv_action fn, bool forward);
// Sends each record to the first child (by name) whose predicate holds, else to default_child.
node_factory branch(std::vector<kv_predicate> preds, std::vector<std::string> children, std::string default_child);

// Table materialization: input is a stream (from_stream) or table changes; writes the new value
// into the store and forwards change(old, new).
node_factory table_materialize(std::string store, any_serde key_serde, any_serde value_serde, bool from_stream);
node_factory table_filter(kv_predicate pred, bool negate);
node_factory table_map_values(value_mapper fn);
node_factory table_to_stream();
// Emits change(old, nil) under the old value's new key and change(nil, new) under the new one.
node_factory table_group_by(kv_mapper fn);

// init empty = reduce (the first value becomes the aggregate).
node_factory stream_aggregate(std::string store, any_serde key_serde, any_serde agg_serde, initializer init, aggregator adder);
node_factory table_aggregate(std::string store, any_serde key_serde, any_serde agg_serde, initializer init,
                             aggregator adder, aggregator subtractor);
using windowed_key_maker = std::function<std::any(const std::any& key, window w)>;
// init empty = reduce. Forwards change(old, new) keyed by make_key(key, window).
node_factory windowed_aggregate(std::string store, any_serde key_serde, any_serde agg_serde, time_windows windows,
                                initializer init, aggregator adder, windowed_key_maker make_key, int64_t retention_ms);
// merger(key, agg1, agg2) combines sessions that a new record bridges.
node_factory session_aggregate(std::string store, any_serde key_serde, any_serde agg_serde, session_windows windows,
                               initializer init, aggregator adder, aggregator merger, windowed_key_maker make_key);
// Emit-final for windowed tables: buffers the latest result per window until stream time
// passes window end + grace. Keys are windowed<K>; buffer store keyed by end | windowed key.
node_factory suppress_until_window_closes(std::string buffer_store, any_serde windowed_key_serde, any_serde value_serde,
                                          std::function<int64_t(const std::any& windowed_key)> window_end, int64_t grace_ms);

node_factory stream_table_join(std::string table_store, any_serde key_serde, any_serde table_value_serde, joiner fn,
                               bool left);
// One side of a windowed stream-stream join; this_store holds this side's records, other_store
// the other side's (both window-keyed by key | timestamp, value = list of values). Left and
// outer joins: outer_store (shared by both sides) holds the records without a match until their
// window closes, then they are emitted with a null other side; inner joins ignore it.
node_factory stream_stream_join(std::string this_store, std::string other_store, std::string outer_store,
                                any_serde key_serde, any_serde this_value_serde, any_serde other_value_serde,
                                join_windows windows, joiner fn, join_kind kind, bool this_is_left);
// One side of a table-table join: looks up the other table's store by key.
node_factory table_table_join(std::string other_store, any_serde key_serde, any_serde other_value_serde, joiner fn,
                              join_kind kind, bool this_is_left);

}  // namespace eddy::streams::detail::ops
