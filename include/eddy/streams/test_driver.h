// test_driver: runs a topology in-process with no broker, for unit tests of stream apps.
//
// Topics are in-memory with a chosen number of partitions (default 1): piped records are
// partitioned by the murmur2 hash of their key bytes like Kafka's default partitioner,
// each partition group is a task with its own stores, and records written to internal
// repartition topics are fed back to the tasks reading them before pipe_input returns.
// Every pipe_input is followed by a commit (stores apply their staged writes). Stores are
// in-memory; changelog records are written to "<application.id>-<store>-changelog" topics
// that tests can read too.
//
// Thread-safety: single-threaded; use one driver per test.
//
// Example:
//   test_driver d(b.build(), {{"application.id", "t"}}, {{"page-views", 3}});
//   auto in = d.create_input_topic<std::string, std::string>("page-views");
//   auto out = d.create_output_topic<std::string, int64_t>("counts");
//   in.pipe_input("alice", "/home", 1000);
//   EXPECT_EQ(out.read_key_values_to_map()["/home"], 1);
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "eddy/streams/detail/graph.h"
#include "eddy/streams/serdes.h"
#include "eddy/streams/state_stores.h"
#include "eddy/streams/streams_config.h"
#include "eddy/streams/topology.h"

namespace eddy::streams {

struct raw_record {
  std::optional<std::string> key;
  std::optional<std::string> value;
  int64_t timestamp = 0;
  headers hdrs;
  int32_t partition = 0;
  int64_t offset = 0;
};

template <class K, class V>
struct test_record {
  K key{};
  V value{};
  bool value_is_null = false;
  int64_t timestamp = 0;
  headers hdrs;
  int32_t partition = 0;
};

class test_driver {
 public:
  // partitions: topic -> partition count for user topics (default 1).
  explicit test_driver(topology t, streams_config config = {{"application.id", "test-driver"}},
                       std::map<std::string, int> partitions = {});
  ~test_driver();
  test_driver(const test_driver&) = delete;
  test_driver& operator=(const test_driver&) = delete;

  void pipe_raw(const std::string& topic, std::optional<std::string> key, std::optional<std::string> value,
                int64_t timestamp, headers hdrs = {});
  // Records written to topic since the last read_raw of it (all partitions, in write order).
  std::vector<raw_record> read_raw(const std::string& topic);
  // Everything ever written to topic.
  std::vector<raw_record> topic_contents(const std::string& topic) const;
  // Fires wall-clock punctuators due up to the new time.
  void advance_wall_clock_time(int64_t ms);
  int64_t wall_clock_time() const;
  // A task's store (partition = task partition), or nullptr if unknown.
  kv_bytes_store* store(const std::string& name, int32_t partition = 0);
  int partitions_of_store(const std::string& name) const;
  const std::string& application_id() const;

  template <class K, class V>
  std::map<K, V> key_value_store_contents(const std::string& name, serde<K> ks = default_serde<K>(),
                                          serde<V> vs = default_serde<V>()) {
    std::map<K, V> out;
    for (int p = 0; p < partitions_of_store(name); ++p)
      for (auto& [k, v] : key_value_store<K, V>(*store(name, p), ks, vs).all()) out[k] = v;
    return out;
  }
  template <class K, class V>
  key_value_store<K, V> get_key_value_store(const std::string& name, int32_t partition = 0,
                                            serde<K> ks = default_serde<K>(), serde<V> vs = default_serde<V>()) {
    return {*store(name, partition), ks, vs};
  }
  template <class K, class V>
  window_store<K, V> get_window_store(const std::string& name, int32_t partition = 0,
                                      serde<K> ks = default_serde<K>(), serde<V> vs = default_serde<V>()) {
    return {*store(name, partition), ks, vs};
  }

  template <class K, class V>
  class input_topic {
   public:
    input_topic(test_driver& d, std::string t, serde<K> ks, serde<V> vs) : d_(&d), t_(std::move(t)), ks_(ks), vs_(vs) {}
    void pipe_input(const K& k, const V& v, int64_t ts) { d_->pipe_raw(t_, ks_.serialize(k), vs_.serialize(v), ts); last_ = ts; }
    void pipe_input(const K& k, const V& v) { pipe_input(k, v, last_); }
    void pipe_input_with_headers(const K& k, const V& v, int64_t ts, headers h) {
      d_->pipe_raw(t_, ks_.serialize(k), vs_.serialize(v), ts, std::move(h));
      last_ = ts;
    }
    void pipe_tombstone(const K& k, int64_t ts) { d_->pipe_raw(t_, ks_.serialize(k), std::nullopt, ts); last_ = ts; }
    void pipe_value(const V& v, int64_t ts) { d_->pipe_raw(t_, std::nullopt, vs_.serialize(v), ts); last_ = ts; }

   private:
    test_driver* d_;
    std::string t_;
    serde<K> ks_;
    serde<V> vs_;
    int64_t last_ = 0;
  };

  template <class K, class V>
  class output_topic {
   public:
    output_topic(test_driver& d, std::string t, serde<K> ks, serde<V> vs) : d_(&d), t_(std::move(t)), ks_(ks), vs_(vs) {}
    std::vector<test_record<K, V>> read_records_to_list() {
      std::vector<test_record<K, V>> out;
      for (auto& r : d_->read_raw(t_)) {
        test_record<K, V> t;
        if (r.key) t.key = ks_.deserialize(*r.key);
        if (r.value) t.value = vs_.deserialize(*r.value);
        t.value_is_null = !r.value;
        t.timestamp = r.timestamp;
        t.hdrs = r.hdrs;
        t.partition = r.partition;
        out.push_back(std::move(t));
      }
      return out;
    }
    std::vector<std::pair<K, V>> read_key_values_to_list() {
      std::vector<std::pair<K, V>> out;
      for (auto& r : read_records_to_list()) out.emplace_back(r.key, r.value);
      return out;
    }
    std::vector<V> read_values_to_list() {
      std::vector<V> out;
      for (auto& r : read_records_to_list()) out.push_back(r.value);
      return out;
    }
    // Latest value per key; tombstones remove the key.
    std::map<K, V> read_key_values_to_map() {
      std::map<K, V> out;
      for (auto& r : read_records_to_list()) {
        if (r.value_is_null) out.erase(r.key);
        else out[r.key] = r.value;
      }
      return out;
    }

   private:
    test_driver* d_;
    std::string t_;
    serde<K> ks_;
    serde<V> vs_;
  };

  template <class K, class V>
  input_topic<K, V> create_input_topic(const std::string& t, serde<K> ks = default_serde<K>(), serde<V> vs = default_serde<V>()) {
    return {*this, t, ks, vs};
  }
  template <class K, class V>
  output_topic<K, V> create_output_topic(const std::string& t, serde<K> ks = default_serde<K>(), serde<V> vs = default_serde<V>()) {
    return {*this, t, ks, vs};
  }

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace eddy::streams
