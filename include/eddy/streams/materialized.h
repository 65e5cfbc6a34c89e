// materialized, grouped, produced, consumed, repartitioned: options of DSL calls, with the
// serdes to use where records cross a topic or a store.
//
// Thread-safety: plain values.
//
// Example:
//   b.stream<std::string, std::string>("views")
//       .group_by_key()
//       .count(materialized<std::string, int64_t>::as("view-counts").in_memory());
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "eddy/streams/serdes.h"

namespace eddy::streams {

template <class K, class V>
struct materialized {
  std::string name;  // empty = generated
  serde<K> key_serde = default_serde<K>();
  serde<V> value_serde = default_serde<V>();
  bool persistent = true;
  bool logged = true;
  std::optional<int64_t> retention_ms;

  static materialized as(std::string n) { materialized m; m.name = std::move(n); return m; }
  static materialized with(serde<K> k, serde<V> v) { materialized m; m.key_serde = std::move(k); m.value_serde = std::move(v); return m; }
  materialized& with_key_serde(serde<K> s) { key_serde = std::move(s); return *this; }
  materialized& with_value_serde(serde<V> s) { value_serde = std::move(s); return *this; }
  materialized& in_memory() { persistent = false; return *this; }
  materialized& with_logging_disabled() { logged = false; return *this; }
  materialized& with_retention(std::chrono::milliseconds r) { retention_ms = r.count(); return *this; }
};

template <class K, class V>
struct grouped {
  std::string name;  // names the repartition topic if one is needed
  serde<K> key_serde = default_serde<K>();
  serde<V> value_serde = default_serde<V>();
  static grouped as(std::string n) { grouped g; g.name = std::move(n); return g; }
  static grouped with(serde<K> k, serde<V> v) { grouped g; g.key_serde = std::move(k); g.value_serde = std::move(v); return g; }
};

template <class K, class V>
struct produced {
  serde<K> key_serde = default_serde<K>();
  serde<V> value_serde = default_serde<V>();
  // Optional: (key, value, partition count) -> partition; default murmur2 of the key bytes like Kafka.
  std::function<int32_t(const K&, const V&, int32_t)> partitioner;
  static produced with(serde<K> k, serde<V> v) { produced p; p.key_serde = std::move(k); p.value_serde = std::move(v); return p; }
};

template <class K, class V>
struct consumed {
  serde<K> key_serde = default_serde<K>();
  serde<V> value_serde = default_serde<V>();
  static consumed with(serde<K> k, serde<V> v) { consumed c; c.key_serde = std::move(k); c.value_serde = std::move(v); return c; }
};

template <class K, class V>
struct repartitioned {
  std::string name;
  serde<K> key_serde = default_serde<K>();
  serde<V> value_serde = default_serde<V>();
  static repartitioned as(std::string n) { repartitioned r; r.name = std::move(n); return r; }
};

}  // namespace eddy::streams
