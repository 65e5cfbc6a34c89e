#include "broker/broker.h"

#include <malloc.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include "broker/eos_services.h"
#include "broker/log/log_manager.h"
#include "broker/server/connection.h"
#include "broker/server/fetch_waiters.h"

namespace eddy::broker {

namespace asio = boost::asio;

namespace {

// The first line of a /proc/sys file, or "unknown".
std::string read_sysctl(const char* path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return "unknown";
  return line;
}

// Request frames, produce record sets and fetch reads are allocations of up to a few MiB
// made and freed at a high rate. glibc's defaults serve them with mmap (or trim them off
// the heap top with MADV_DONTNEED) and so hand the pages back to the kernel after every
// request; each new request then faults fresh zeroed pages in, which on a virtual machine
// costs more than the rest of the request (measured: 1 KB-record produce went from about
// 320 MB/s to about 600 MB/s with the thresholds below). Keeping up to 256 MiB of freed
// memory in the allocator avoids that. Process-wide, so an application embedding the
// broker gets it too; EDDY_MALLOC_TUNING=0 keeps glibc's defaults.
void tune_malloc_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (const char* v = std::getenv("EDDY_MALLOC_TUNING"); v && std::string_view(v) == "0") return;
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
  });
}

}  // namespace

broker::broker(broker_config config)
    : config_(std::move(config)), acceptor_(io_), tick_timer_(io_), waiters_(std::make_unique<fetch_waiters>(io_)) {
  tune_malloc_once();
}

broker::~broker() {
  stop();
  // Drain what stop() posted when the loop is not running.
  if (!io_.stopped()) io_.poll();
  if (logs_) (void)logs_->close();
}

std::int64_t broker::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {
std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

void broker::note_request(std::uint64_t connection) {
  if (connection == solo_connection_) return;
  solo_connection_ = connection;
  solo_since_ms_ = steady_ms();
}

bool broker::serving_alone(std::uint64_t connection) const {
  return connection == solo_connection_ && steady_ms() - solo_since_ms_ >= alone_ms;
}

std::string broker::advertised_host() const {
  if (!config_.advertised_host.empty()) return config_.advertised_host;
  if (config_.listen_host == "0.0.0.0" || config_.listen_host == "::") return "127.0.0.1";
  return config_.listen_host;
}

std::uint16_t broker::advertised_port() const {
  return config_.advertised_port != 0 ? config_.advertised_port : bound_port_;
}

std::optional<std::string> broker::start() {
  if (config_.data_dir.empty()) return "no data directory: pass --data-dir DIR (or log.dirs in the config file)";
  std::error_code fec;
  std::filesystem::create_directories(config_.data_dir, fec);
  if (fec) return fmt::format("cannot create data directory '{}': {}", config_.data_dir, fec.message());

  auto opts = log::log_manager_options::parse(config_.properties);
  if (!opts) return fmt::format("bad log setting: {}", opts.error().message);
  auto lm = log::log_manager::open(config_.data_dir, *opts);
  if (!lm) return lm.error().message;
  logs_ = std::move(*lm);
  // Large appends are written by a background thread; completions come back to the loop,
  // where newly readable data wakes waiting fetches.
  logs_->enable_write_behind([this](std::function<void()> f) { asio::post(io_, std::move(f)); },
                             [this] { waiters().notify(); });
  // Compaction reads and rewrites segments on its own thread; the swap comes back here.
  logs_->enable_background_cleaner([this](std::function<void()> f) { asio::post(io_, std::move(f)); });
  // Fetches that read from disk do so on a reader thread; the response is sent from here.
  logs_->enable_background_reads([this](std::function<void()> f) { asio::post(io_, std::move(f)); });
  // New partitions' files (CreateTopics) are created on an admin thread.
  logs_->enable_background_admin([this](std::function<void()> f) { asio::post(io_, std::move(f)); });

  eos_ = std::make_unique<exactly_once_services>(*this);
  if (auto err = eos_->open()) return *err;
  // A partition that a failed write took offline comes back from disk (log.offline.retry.ms)
  // with the producer state of what is on disk.
  logs_->set_on_recovered(
      [this](const std::string& topic, std::int32_t partition) { eos_->partition_reopened(topic, partition); });

  boost::system::error_code ec;
  auto addr = asio::ip::make_address(config_.listen_host, ec);
  if (ec) {
    // A host name: resolve it.
    asio::ip::tcp::resolver resolver(io_);
    auto results = resolver.resolve(config_.listen_host, std::to_string(config_.listen_port), ec);
    if (ec || results.empty()) return fmt::format("cannot resolve listen host '{}': {}", config_.listen_host, ec.message());
    addr = results.begin()->endpoint().address();
  }
  asio::ip::tcp::endpoint ep(addr, config_.listen_port);
  if (config_.tcp_congestion != "auto" && config_.tcp_congestion != "default") {
    // Try it on a socket of our own, so that a name the kernel refuses stops the start.
    asio::ip::tcp::socket probe(io_);
    probe.open(ep.protocol(), ec);
    int err = ec ? 0 : apply_tcp_congestion(probe.native_handle(), config_.tcp_congestion, addr);
    if (err != 0)
      return fmt::format("socket.tcp.congestion={}: {} (available: {}; allowed without CAP_NET_ADMIN: {}); use one "
                         "of those, or auto or default",
                         config_.tcp_congestion, std::strerror(err),
                         read_sysctl("/proc/sys/net/ipv4/tcp_available_congestion_control"),
                         read_sysctl("/proc/sys/net/ipv4/tcp_allowed_congestion_control"));
  }
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return fmt::format("cannot listen on {}:{}: {} (is another broker running there? pick another port with --listen)",
                       config_.listen_host, config_.listen_port, ec.message());
  bound_port_ = acceptor_.local_endpoint().port();
  accept();
  schedule_tick();
  return std::nullopt;
}

void broker::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket socket) {
    if (stopped_) return;
    if (!ec) {
      auto id = next_connection_id_++;
      auto c = std::make_shared<connection>(*this, std::move(socket), id);
      connections_[id] = c;
      c->start();
    }
    accept();
  });
}

void broker::schedule_tick() {
  tick_timer_.expires_after(std::chrono::milliseconds(100));
  tick_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    auto now = now_ms();
    logs_->tick(now);
    eos_->tick(now);
    schedule_tick();
  });
}

void broker::run() { io_.run(); }

void broker::on_connection_closed(std::uint64_t id) {
  // Erase later: the connection may be deep in its own call stack.
  asio::post(io_, [this, id] { connections_.erase(id); });
}

void broker::stop() {
  asio::post(io_, [this] {
    if (stopped_) return;
    stopped_ = true;
    boost::system::error_code ec;
    acceptor_.close(ec);
    tick_timer_.cancel();
    waiters_->expire_all();
    for (auto& [id, c] : connections_) c->close();
    connections_.clear();
    if (eos_) eos_->close();
    if (logs_) {
      if (auto r = logs_->close(); !r) {
        fmt::print(stderr, "eddy-broker: closing logs: {}\n", r.error().message);
        closed_cleanly_ = false;
      }
    }
    io_.stop();
  });
}

}  // namespace eddy::broker
