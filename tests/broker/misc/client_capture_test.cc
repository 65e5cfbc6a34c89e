// Byte-exact golden checks against real clients: a recording proxy sits between
// librdkafka / kafka-python and an embedded broker and keeps every request frame the
// clients send. Each captured request must decode with our generated codec and re-encode
// to exactly the same bytes, and each response we sent must decode as well. This pins
// the codec to what real clients put on the wire, version by version.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/protocol/header.h"
#include "core/protocol/messages/all.h"
#include "eddy/broker/embedded_broker.h"

namespace eddy::broker {
namespace {

using protocol::bytes;

struct captured {
  bytes request;  // frame without size
};

class recording_proxy {
 public:
  recording_proxy() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listen_fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~recording_proxy() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    acceptor_.join();
    for (auto& t : pumps_) t.join();
  }
  std::uint16_t port() const { return port_; }
  void set_upstream(std::uint16_t p) { upstream_ = p; }
  std::vector<bytes> requests() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }
  std::vector<std::pair<bytes, bytes>> exchanges() {
    std::lock_guard<std::mutex> l(mu_);
    return exchanges_;
  }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int c = ::accept(listen_fd_, nullptr, nullptr);
      if (c < 0) continue;
      int u = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(upstream_);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(u, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(c);
        ::close(u);
        continue;
      }
      pumps_.emplace_back([this, c, u] { pump(c, u); });
    }
  }
  // Copies both directions; splits the client's stream into frames and pairs them with
  // the broker's responses by order.
  void pump(int client, int upstream) {
    bytes from_client, from_broker;
    std::vector<bytes> pending;
    pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
    std::uint8_t buf[65536];
    while (!stop_) {
      if (::poll(fds, 2, 100) <= 0) continue;
      bool done = false;
      for (int i = 0; i < 2; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
        if (n <= 0) {
          done = true;
          break;
        }
        ::send(fds[1 - i].fd, buf, std::size_t(n), MSG_NOSIGNAL);
        bytes& acc = i == 0 ? from_client : from_broker;
        acc.insert(acc.end(), buf, buf + n);
        while (acc.size() >= 4) {
          std::uint32_t sz = std::uint32_t(acc[0]) << 24 | std::uint32_t(acc[1]) << 16 | std::uint32_t(acc[2]) << 8 | acc[3];
          if (acc.size() < 4 + sz) break;
          bytes frame(acc.begin() + 4, acc.begin() + 4 + sz);
          acc.erase(acc.begin(), acc.begin() + 4 + sz);
          std::lock_guard<std::mutex> l(mu_);
          if (i == 0) {
            requests_.push_back(frame);
            pending.push_back(std::move(frame));
          } else if (!pending.empty()) {
            exchanges_.emplace_back(std::move(pending.front()), std::move(frame));
            pending.erase(pending.begin());
          }
        }
      }
      if (done) break;
    }
    ::close(client);
    ::close(upstream);
  }

  std::atomic<std::uint16_t> upstream_{0};
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> pumps_;
  std::mutex mu_;
  std::vector<bytes> requests_;
  std::vector<std::pair<bytes, bytes>> exchanges_;
};

// Decodes a request frame with our codec and re-encodes it; returns the API key and version,
// or fails the test when the bytes differ.
template <class Request>
void check_request(const bytes& frame, const protocol::request_header& h, std::size_t body_offset) {
  Request req;
  protocol::reader r(frame.data() + body_offset, frame.size() - body_offset);
  req.decode(r, h.api_version);
  EXPECT_EQ(r.remaining(), 0u) << "api " << h.api_key << " v" << h.api_version;
  bytes again = protocol::encode_request_frame(h, req);
  bytes without_size(again.begin() + 4, again.end());
  EXPECT_EQ(without_size, frame) << "re-encoding differs for api " << h.api_key << " v" << h.api_version;
}

template <class Response>
void check_response(const bytes& frame, const protocol::request_header& h) {
  protocol::reader r(frame.data(), frame.size());
  EXPECT_EQ(r.read_int32(), h.correlation_id);
  if (protocol::response_header_version(h.api_key, h.api_version) >= 1) r.skip_tagged_fields();
  Response resp;
  resp.decode(r, h.api_version);
  EXPECT_EQ(r.remaining(), 0u) << "response api " << h.api_key << " v" << h.api_version;
}

std::set<std::pair<int, int>> verify(const std::vector<std::pair<bytes, bytes>>& exchanges) {
  std::set<std::pair<int, int>> seen;
  for (const auto& [req, resp] : exchanges) {
    protocol::reader r(req.data(), req.size());
    auto h = protocol::decode_request_header(r);
    std::size_t off = std::size_t(r.position() - req.data());
    seen.insert({h.api_key, h.api_version});
    switch (protocol::api_key(h.api_key)) {
#define EDDY_CHECK_CASE(api)                                  \
  case protocol::api_key::api:                                \
    check_request<protocol::api##_request>(req, h, off);      \
    check_response<protocol::api##_response>(resp, h);        \
    break;
      EDDY_PROTOCOL_FOR_EACH_API(EDDY_CHECK_CASE)
#undef EDDY_CHECK_CASE
      default:
        ADD_FAILURE() << "client sent an API we do not describe: " << h.api_key;
    }
  }
  return seen;
}

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// A broker that advertises the proxy's address, so every client connection (not only
// the bootstrap one) goes through the proxy.
std::unique_ptr<embedded_broker> broker_behind(recording_proxy& proxy) {
  std::uint16_t port = free_port();
  embedded_broker_options o;
  o.listen = "127.0.0.1:" + std::to_string(port);
  o.config["advertised.listeners"] = "127.0.0.1:" + std::to_string(proxy.port());
  auto b = std::make_unique<embedded_broker>(o);
  proxy.set_upstream(port);
  return b;
}

TEST(client_capture_test, librdkafka_requests_reencode_byte_exact) {
  recording_proxy proxy;
  auto broker = broker_behind(proxy);
  std::string bootstrap = "127.0.0.1:" + std::to_string(proxy.port());
  char err[512];
  {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err);
    rd_kafka_conf_set(conf, "compression.codec", "lz4", err, sizeof err);
    rd_kafka_t* p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    ASSERT_NE(p, nullptr) << err;
    for (int i = 0; i < 20; ++i) {
      std::string v = "value-" + std::to_string(i);
      ASSERT_EQ(rd_kafka_producev(p, RD_KAFKA_V_TOPIC("golden"), RD_KAFKA_V_KEY("k", 1),
                                  RD_KAFKA_V_VALUE(v.data(), v.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_HEADER("h", "x", 1), RD_KAFKA_V_END),
                RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    ASSERT_EQ(rd_kafka_flush(p, 15000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(p);
  }
  {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", "golden-group", err, sizeof err);
    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err);
    rd_kafka_conf_set(conf, "isolation.level", "read_committed", err, sizeof err);
    rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    ASSERT_NE(c, nullptr) << err;
    rd_kafka_poll_set_consumer(c);
    auto* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, "golden", RD_KAFKA_PARTITION_UA);
    ASSERT_EQ(rd_kafka_subscribe(c, topics), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(topics);
    int got = 0;
    for (int i = 0; i < 300 && got < 20; ++i) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) ++got;
      rd_kafka_message_destroy(m);
    }
    EXPECT_EQ(got, 20);
    rd_kafka_commit(c, nullptr, 0);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto seen = verify(proxy.exchanges());
  // What librdkafka 2.0.2 is known to send (CLIENT_COMPAT.md).
  EXPECT_TRUE(seen.count({18, 3})) << "ApiVersions v3";
  EXPECT_TRUE(seen.count({3, 4})) << "Metadata v4";
  EXPECT_TRUE(seen.count({0, 7})) << "Produce v7";
  EXPECT_TRUE(seen.count({1, 11})) << "Fetch v11";
  EXPECT_TRUE(seen.count({22, 4})) << "InitProducerId v4";
  EXPECT_TRUE(seen.count({10, 2})) << "FindCoordinator v2";
  EXPECT_TRUE(seen.count({11, 5})) << "JoinGroup v5";
}

TEST(client_capture_test, kafka_python_requests_reencode_byte_exact) {
  if (std::system("/usr/bin/python3 -c 'import kafka' 2>/dev/null") != 0) GTEST_FAIL() << "python3-kafka missing";
  recording_proxy proxy;
  auto broker = broker_behind(proxy);
  std::string script =
      "/usr/bin/python3 - <<'EOF'\n"
      "from kafka import KafkaProducer, KafkaConsumer, TopicPartition\n"
      "p = KafkaProducer(bootstrap_servers='127.0.0.1:" + std::to_string(proxy.port()) + "')\n"
      "for i in range(5): p.send('pygolden', key=b'k', value=b'v%d' % i)\n"
      "p.flush(); p.close()\n"
      "c = KafkaConsumer(bootstrap_servers='127.0.0.1:" + std::to_string(proxy.port()) + "', consumer_timeout_ms=3000)\n"
      "tp = TopicPartition('pygolden', 0); c.assign([tp]); c.seek_to_beginning(tp)\n"
      "n = sum(1 for _ in c)\n"
      "c.close()\n"
      "assert n == 5, n\n"
      "EOF\n";
  ASSERT_EQ(std::system(script.c_str()), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto seen = verify(proxy.exchanges());
  EXPECT_TRUE(seen.count({18, 0})) << "ApiVersions v0";
  EXPECT_TRUE(seen.count({0, 7})) << "Produce v7";
  EXPECT_TRUE(seen.count({1, 4})) << "Fetch v4";
}

}  // namespace
}  // namespace eddy::broker
