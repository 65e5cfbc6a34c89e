// streams_app: runs a topology against Kafka-protocol brokers (Eddy's or a Kafka cluster)
// through librdkafka, with N stream threads, exactly-once (exactly_once_v2) or at-least-once.
//
// start() checks the config and the topics (creating internal repartition and changelog
// topics, checking co-partitioning), then starts the threads and returns; problems come back
// as a status with a message saying what to do. run() = start() + wait until close() (from
// another thread or a signal handler thread) or a fatal error. close() commits what was
// processed, leaves the group and closes the clients and stores.
//
// Thread-safety: start/run/close/state may be called from different threads; close() is
// idempotent.
//
// Example:
//   streams_app app(builder.build(), cfg);
//   if (auto st = app.start(); !st.ok) { std::cerr << st.message << "\n"; return 1; }
//   ... app.close();
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "eddy/streams/streams_config.h"
#include "eddy/streams/topology.h"

namespace eddy::streams {

struct status {
  bool ok = true;
  std::string message;
  static status success() { return {}; }
  static status error(std::string m) { return {false, std::move(m)}; }
};

// created -> rebalancing (start) -> running (every stream thread has its partitions and has
// restored its stores) <-> rebalancing -> pending_shutdown (close) -> not_running; or error.
enum class app_state { created, rebalancing, running, pending_shutdown, not_running, error };
const char* to_string(app_state s);

class streams_app {
 public:
  streams_app(topology t, streams_config config);
  ~streams_app();
  streams_app(const streams_app&) = delete;
  streams_app& operator=(const streams_app&) = delete;

  status start();
  // start(), then block until close() or a fatal error; returns how it ended.
  status run();
  void close();
  app_state state() const;
  // Called on every state change, from the thread causing it.
  void set_state_listener(std::function<void(app_state from, app_state to)> fn);
  // Records processed since start (all threads); for demos and benchmarks.
  int64_t processed_records() const;
  // Number of successful commits (transactions under exactly_once_v2).
  int64_t commits() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace eddy::streams
