// embedded_broker: Eddy's Kafka-compatible broker running inside the current process,
// for samples, demos and users' own tests.
//
// It listens on an ephemeral loopback port, stores its logs in a data directory
// (a fresh temporary directory by default, removed on destruction), and runs its
// event loop on a background thread. Any Kafka client, librdkafka included, can use
// bootstrap_servers() as its bootstrap.servers.
//
// Thread-safety: start/stop/bootstrap_servers may be called from any one thread.
//
// Example:
//   eddy::broker::embedded_broker broker;             // starts at once
//   std::string bootstrap = broker.bootstrap_servers(); // "127.0.0.1:40123"
//   ... run producers/consumers/streams apps against `bootstrap` ...
//   broker.stop();                                       // or let the destructor do it
#pragma once

#include <map>
#include <memory>
#include <string>

namespace eddy::broker {

struct embedded_broker_options {
  // Data directory; empty = a new temporary directory, deleted when the broker is destroyed.
  std::string data_dir;
  // Listen address; port 0 = ephemeral.
  std::string listen = "127.0.0.1:0";
  // Extra broker settings with Kafka names, e.g. {"num.partitions", "4"}.
  std::map<std::string, std::string> config;
};

class embedded_broker {
 public:
  embedded_broker();  // default options, started
  explicit embedded_broker(embedded_broker_options options);  // started; throws std::runtime_error on failure
  ~embedded_broker();
  embedded_broker(const embedded_broker&) = delete;
  embedded_broker& operator=(const embedded_broker&) = delete;

  // "host:port" for bootstrap.servers.
  std::string bootstrap_servers() const;
  const std::string& data_dir() const;
  // Stops accepting, closes connections, flushes logs. Idempotent.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace eddy::broker
