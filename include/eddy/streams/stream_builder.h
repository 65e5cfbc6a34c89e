// stream_builder: the entry point of the DSL. Declare source streams and tables, chain
// operators on them, then build() a topology to run with streams_app (or test_driver).
//
// build() checks the graph (serdes available where records cross topics or stores, named
// stores exist) and throws std::invalid_argument naming the operator at fault; that is a
// programming error, reported before anything connects to a broker.
//
// Thread-safety: not thread-safe; build on one thread.
//
// Example:
//   stream_builder b;
//   b.stream<std::string, std::string>("page-views")
//       .group_by([](const std::string&, const std::string& page) { return page; })
//       .count(materialized<std::string, int64_t>::as("counts"))
//       .to_stream()
//       .to("page-view-counts");
//   streams_app app(b.build(), config);
//   app.run();
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "eddy/streams/kstream.h"
#include "eddy/streams/ktable.h"
#include "eddy/streams/kgrouped_stream.h"
#include "eddy/streams/materialized.h"
#include "eddy/streams/processor.h"
#include "eddy/streams/state_stores.h"
#include "eddy/streams/topology.h"

namespace eddy::streams {

class stream_builder {
 public:
  stream_builder() : g_(std::make_shared<detail::graph>()) {}

  template <class K, class V>
  kstream<K, V> stream(const std::string& topic, consumed<K, V> c = {}) {
    return stream<K, V>(std::vector<std::string>{topic}, std::move(c));
  }
  template <class K, class V>
  kstream<K, V> stream(const std::vector<std::string>& topics, consumed<K, V> c = {}) {
    std::vector<detail::topic_ref> refs;
    for (auto& t : topics) refs.push_back({t});
    int n = detail::add_source(*g_, refs, detail::erase(c.key_serde), detail::erase(c.value_serde));
    if (!c.key_serde.valid() || !c.value_serde.valid())
      g_->nodes[n].build_error = detail::missing_serde_error("key or value", "source " + topics.front());
    return kstream<K, V>(g_, n, c.key_serde, c.value_serde);
  }
  // A table over a (usually compacted) topic: the latest value per key, kept in a store.
  template <class K, class V>
  ktable<K, V> table(const std::string& topic, materialized<K, V> m = {}) {
    auto s = stream<K, V>(topic, consumed<K, V>::with(m.key_serde, m.value_serde));
    return s.to_table(std::move(m));
  }
  // Declares a store for processors (kstream::process) to use by name.
  stream_builder& add_state_store(store_builder s) {
    detail::add_store(*g_, s.spec);
    return *this;
  }

  topology build();

 private:
  detail::graph_ptr g_;
};

}  // namespace eddy::streams
