// broker: Eddy's single-node Kafka-compatible broker.
//
// Owns the event loop (one Asio io_context, run by one thread), the listener and its
// connections, the log manager, and the coordinators. Requests are dispatched to the
// handlers in broker/handlers on the loop thread; nothing in the request path blocks
// except disk writes: small ones into the page cache, and large ones (O_DIRECT) only
// while a single connection has the broker to itself (log.write.behind=auto; otherwise
// the write-behind thread writes them).
//
// Thread-safety: start() and run() from one thread; stop() from any thread (it posts).
//
// Example:
//   broker_config cfg; cfg.data_dir = "/var/lib/eddy"; cfg.listen_port = 0;
//   broker b(cfg);
//   if (auto err = b.start()) { std::cerr << *err; return 1; }
//   std::cout << b.bound_port();
//   b.run();  // until stop()
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "broker/broker_config.h"

namespace eddy::broker {

namespace log {
class log_manager;
}
class connection;
class fetch_waiters;
struct exactly_once_services;

class broker {
 public:
  explicit broker(broker_config config);
  ~broker();
  broker(const broker&) = delete;
  broker& operator=(const broker&) = delete;

  // Opens the data directory (recovering logs) and binds the listener. Returns an error
  // message (what is wrong and what to do) on failure.
  std::optional<std::string> start();
  // Runs the event loop until stop().
  void run();
  // Stops accepting, closes connections, flushes and closes logs. Thread-safe, idempotent.
  void stop();
  // After run() returned: false when the logs could not be closed cleanly (a partition
  // offline after a failed write, say); the next start then recovers them from disk.
  bool closed_cleanly() const { return closed_cleanly_; }

  std::uint16_t bound_port() const { return bound_port_; }
  std::string advertised_host() const;
  std::uint16_t advertised_port() const;
  std::int32_t node_id() const { return config_.node_id; }
  const broker_config& config() const { return config_; }
  boost::asio::io_context& io() { return io_; }
  log::log_manager& logs() { return *logs_; }
  // Long-poll fetches waiting for data: notified after every append.
  fetch_waiters& waiters() { return *waiters_; }
  // Consumer groups, producer state and transactions (broker/group, broker/txn).
  exactly_once_services& eos() { return *eos_; }
  std::int64_t now_ms() const;

  // Called by connections.
  void on_connection_closed(std::uint64_t id);
  // Called by connections for every request. serving_alone() is true while `connection`
  // has been the only one sending requests for the last `alone_ms`: the produce handler
  // then lets the loop write a large batch itself (log.write.behind=auto) rather than
  // hand it to the write-behind thread, since nobody else is waiting for the loop.
  static constexpr std::int64_t alone_ms = 20;
  void note_request(std::uint64_t connection);
  bool serving_alone(std::uint64_t connection) const;

 private:
  void accept();
  void schedule_tick();

  broker_config config_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer tick_timer_;
  std::unique_ptr<log::log_manager> logs_;
  std::unique_ptr<fetch_waiters> waiters_;
  std::unique_ptr<exactly_once_services> eos_;
  std::map<std::uint64_t, std::shared_ptr<connection>> connections_;
  std::uint64_t next_connection_id_ = 1;
  std::uint64_t solo_connection_ = 0;  // the connection that sent the last request
  std::int64_t solo_since_ms_ = 0;     // since when it alone has sent requests (steady clock)
  std::uint16_t bound_port_ = 0;
  bool stopped_ = false;
  bool closed_cleanly_ = true;
};

}  // namespace eddy::broker
