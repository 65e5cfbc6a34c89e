// state_stores: the store interfaces processors use, and builders to declare stores.
//
// Every store is, underneath, a sorted byte-level key-value store (kv_bytes_store) in a
// stack of layers: typed view (serdes) -> staging (writes of the open transaction) ->
// change-logging (each write also goes to "<application.id>-<store>-changelog") -> RocksDB or
// in-memory. Window and session stores are typed views over the same byte store with
// composite keys, so one logging/staging/restore path serves all three kinds.
//
// Key layouts (big-endian times keep one key's windows sorted by time):
//   window store:  key bytes | window start (8 bytes)
//   session store: key bytes | session end (8) | session start (8)
//
// Thread-safety: a store instance belongs to one task, used by one stream thread.
//
// Example (inside a processor's init):
//   auto counts = ctx.get_key_value_store<std::string, int64_t>("counts");
//   counts.put("home", counts.get("home").value_or(0) + 1);
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eddy/streams/detail/graph.h"
#include "eddy/streams/serdes.h"
#include "eddy/streams/windows.h"

namespace eddy::streams {

// The byte-level store every layer implements. Keys compare as unsigned bytes.
class kv_bytes_store {
 public:
  virtual ~kv_bytes_store() = default;
  virtual std::optional<std::string> get(std::string_view key) = 0;
  // value nullopt deletes the key.
  virtual void put(std::string_view key, std::optional<std::string_view> value) = 0;
  // Visits keys in [from, to) in order (nullopt = unbounded) until visit returns false.
  virtual void range(std::optional<std::string_view> from, std::optional<std::string_view> to,
                     const std::function<bool(std::string_view key, std::string_view value)>& visit) = 0;
  virtual int64_t approximate_num_entries() = 0;
};

namespace detail {
inline std::string be64(int64_t v) { return serdes::int64().serialize(v); }
inline int64_t read_be64(std::string_view b) { return serdes::int64().deserialize(b); }
}  // namespace detail

template <class K, class V>
class key_value_store {
 public:
  key_value_store(kv_bytes_store& s, serde<K> ks, serde<V> vs) : s_(&s), ks_(std::move(ks)), vs_(std::move(vs)) {}
  std::optional<V> get(const K& k) const {
    auto v = s_->get(ks_.serialize(k));
    if (!v) return std::nullopt;
    return vs_.deserialize(*v);
  }
  void put(const K& k, const V& v) { s_->put(ks_.serialize(k), vs_.serialize(v)); }
  void remove(const K& k) { s_->put(ks_.serialize(k), std::nullopt); }
  bool put_if_absent(const K& k, const V& v) {
    if (s_->get(ks_.serialize(k))) return false;
    put(k, v);
    return true;
  }
  // All entries in serialized-key order.
  std::vector<std::pair<K, V>> all() const {
    std::vector<std::pair<K, V>> out;
    s_->range(std::nullopt, std::nullopt, [&](std::string_view k, std::string_view v) {
      out.emplace_back(ks_.deserialize(k), vs_.deserialize(v));
      return true;
    });
    return out;
  }
  // Entries with serialized keys in [from, to].
  std::vector<std::pair<K, V>> range(const K& from, const K& to) const {
    std::vector<std::pair<K, V>> out;
    std::string hi = ks_.serialize(to);
    hi.push_back('\0');  // inclusive upper bound
    s_->range(ks_.serialize(from), hi, [&](std::string_view k, std::string_view v) {
      out.emplace_back(ks_.deserialize(k), vs_.deserialize(v));
      return true;
    });
    return out;
  }
  int64_t approximate_num_entries() const { return s_->approximate_num_entries(); }

 private:
  kv_bytes_store* s_;
  serde<K> ks_;
  serde<V> vs_;
};

// Windows of one key, addressed by (key, window start).
template <class K, class V>
class window_store {
 public:
  window_store(kv_bytes_store& s, serde<K> ks, serde<V> vs) : s_(&s), ks_(std::move(ks)), vs_(std::move(vs)) {}
  void put(const K& k, const V& v, int64_t window_start) { s_->put(ks_.serialize(k) + detail::be64(window_start), vs_.serialize(v)); }
  void remove(const K& k, int64_t window_start) { s_->put(ks_.serialize(k) + detail::be64(window_start), std::nullopt); }
  std::optional<V> fetch(const K& k, int64_t window_start) const {
    auto v = s_->get(ks_.serialize(k) + detail::be64(window_start));
    if (!v) return std::nullopt;
    return vs_.deserialize(*v);
  }
  // (window start, value) for the key's windows starting in [time_from, time_to].
  std::vector<std::pair<int64_t, V>> fetch(const K& k, int64_t time_from, int64_t time_to) const {
    std::vector<std::pair<int64_t, V>> out;
    std::string kb = ks_.serialize(k);
    s_->range(kb + detail::be64(std::max<int64_t>(time_from, 0)), kb + detail::be64(time_to) + std::string(1, '\0'),
              [&](std::string_view key, std::string_view v) {
                if (key.size() == kb.size() + 8) out.emplace_back(detail::read_be64(key.substr(kb.size())), vs_.deserialize(v));
                return true;
              });
    return out;
  }
  // Every (key, window start, value) in the store.
  std::vector<std::tuple<K, int64_t, V>> all() const {
    std::vector<std::tuple<K, int64_t, V>> out;
    s_->range(std::nullopt, std::nullopt, [&](std::string_view key, std::string_view v) {
      if (key.size() < 8) return true;
      out.emplace_back(ks_.deserialize(key.substr(0, key.size() - 8)), detail::read_be64(key.substr(key.size() - 8)),
                       vs_.deserialize(v));
      return true;
    });
    return out;
  }

 private:
  kv_bytes_store* s_;
  serde<K> ks_;
  serde<V> vs_;
};

// Sessions of one key, addressed by (key, session window).
template <class K, class V>
class session_store {
 public:
  session_store(kv_bytes_store& s, serde<K> ks, serde<V> vs) : s_(&s), ks_(std::move(ks)), vs_(std::move(vs)) {}
  void put(const K& k, window w, const V& v) { s_->put(key_of(k, w), vs_.serialize(v)); }
  void remove(const K& k, window w) { s_->put(key_of(k, w), std::nullopt); }
  // Sessions of k with end >= earliest_end and start <= latest_start.
  std::vector<std::pair<window, V>> find_sessions(const K& k, int64_t earliest_end, int64_t latest_start) const {
    std::vector<std::pair<window, V>> out;
    std::string kb = ks_.serialize(k);
    s_->range(kb + detail::be64(std::max<int64_t>(earliest_end, 0)), std::nullopt, [&](std::string_view key, std::string_view v) {
      if (key.size() < kb.size() || key.substr(0, kb.size()) != kb) return false;
      if (key.size() != kb.size() + 16) return true;
      window w{detail::read_be64(key.substr(kb.size() + 8, 8)), detail::read_be64(key.substr(kb.size(), 8))};
      if (w.start <= latest_start) out.emplace_back(w, vs_.deserialize(v));
      return true;
    });
    return out;
  }
  std::vector<std::pair<window, V>> fetch(const K& k) const { return find_sessions(k, 0, INT64_MAX); }

 private:
  std::string key_of(const K& k, window w) const { return ks_.serialize(k) + detail::be64(w.end) + detail::be64(w.start); }
  kv_bytes_store* s_;
  serde<K> ks_;
  serde<V> vs_;
};

// Declares a store for the processor API: builder.add_state_store(stores::key_value("name")).
struct store_builder {
  detail::store_spec spec;
  store_builder& in_memory() { spec.persistent = false; return *this; }
  store_builder& without_logging() { spec.logged = false; return *this; }
  store_builder& with_changelog_config(std::string key, std::string value) {
    spec.changelog_config[std::move(key)] = std::move(value);
    return *this;
  }
  store_builder& with_retention_ms(int64_t ms) { spec.retention_ms = ms; return *this; }
};

namespace stores {
inline store_builder key_value(std::string name) { return {{name, detail::store_type::key_value}}; }
inline store_builder window(std::string name) { return {{name, detail::store_type::window}}; }
inline store_builder session(std::string name) { return {{name, detail::store_type::session}}; }
}  // namespace stores

}  // namespace eddy::streams
