// The server's handling of framing and bad input: pipelined responses in request order,
// KIP-511 ApiVersions fallback, closing only the offending connection for oversized,
// negative, truncated or garbled frames and unknown APIs, and large frames that arrive in
// pieces of every size (both the whole-buffer and the growing read paths).
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <thread>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "broker/broker_config.h"
#include "broker/handlers/registry.h"
#include "broker/server/connection.h"
#include "core/protocol/messages/all.h"
#include "core/record/batch_builder.h"
#include "core/record/batch_reader.h"
#include "eddy/broker/embedded_broker.h"
#include "tests/support/fetched_batches.h"
#include "tests/support/raw_client.h"

namespace eddy::broker {
namespace {

using protocol::bytes;

std::uint16_t port_of(const embedded_broker& b) {
  auto s = b.bootstrap_servers();
  return std::uint16_t(std::stoi(s.substr(s.rfind(':') + 1)));
}

bytes frame_of(std::initializer_list<std::uint8_t> body, std::int32_t size) {
  bytes b;
  b.reserve(4 + body.size());  // (built by push_back: GCC 12 misreports insert into a 4-byte vector)
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(std::uint8_t(std::uint32_t(size) >> shift));
  for (std::uint8_t x : body) b.push_back(x);
  return b;
}

TEST(connection_test, api_versions_lists_every_handler_in_every_supported_version) {
  embedded_broker b;
  test::raw_client c(port_of(b));
  for (std::int16_t v = 0; v <= 3; ++v) {
    auto resp = c.call<protocol::api_versions_response>(protocol::api_versions_request{}, v);
    ASSERT_TRUE(resp) << "version " << v;
    EXPECT_EQ(resp->error_code, 0);
    EXPECT_EQ(resp->api_keys.size(), handlers::registry().size());
    bool has_produce = false;
    for (auto& k : resp->api_keys)
      if (k.api_key == 0) {
        has_produce = true;
        EXPECT_EQ(k.min_version, 3);
        EXPECT_EQ(k.max_version, 7);
      }
    EXPECT_TRUE(has_produce);
  }
}

TEST(connection_test, unsupported_api_versions_version_gets_error_35_and_v0_body) {
  embedded_broker b;
  test::raw_client c(port_of(b));
  protocol::request_header h{18, 99, 7, std::string("x")};
  // A future version's body is unknown to us; send an empty one.
  bytes body;
  protocol::writer w(body);
  protocol::encode_request_header(w, h);
  bytes f = {0, 0, 0, std::uint8_t(body.size())};
  f.insert(f.end(), body.begin(), body.end());
  ASSERT_TRUE(c.send_bytes(f));
  auto resp = c.read_frame();
  ASSERT_TRUE(resp);
  protocol::reader r(resp->data(), resp->size());
  EXPECT_EQ(r.read_int32(), 7);
  protocol::api_versions_response av;
  av.decode(r, 0);
  EXPECT_EQ(av.error_code, 35);
  ASSERT_EQ(av.api_keys.size(), 1u);
  EXPECT_EQ(av.api_keys[0].api_key, 18);
  EXPECT_EQ(av.api_keys[0].max_version, 3);
}

TEST(connection_test, pipelined_requests_are_answered_in_order) {
  embedded_broker b;
  test::raw_client c(port_of(b));
  // Mix a long-poll fetch (waits up to 300 ms) with instant requests behind it.
  ASSERT_TRUE(c.create_topic("pipe"));
  protocol::fetch_request f;
  f.max_wait_ms = 300;
  f.min_bytes = 1;
  f.max_bytes = 1 << 20;
  f.topics.push_back({"pipe", {{0, -1, 0, -1, 1 << 20}}});
  ASSERT_TRUE(c.send(f, 11, 100));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(c.send(protocol::api_versions_request{}, 2, 101 + i));
  for (int i = 0; i < 21; ++i) {
    auto frame = c.read_frame();
    ASSERT_TRUE(frame) << i;
    protocol::reader r(frame->data(), frame->size());
    EXPECT_EQ(r.read_int32(), 100 + i);
  }
}

TEST(connection_test, bad_frames_close_only_that_connection) {
  embedded_broker b;
  auto port = port_of(b);
  test::raw_client good(port);
  ASSERT_TRUE(good.call<protocol::api_versions_response>(protocol::api_versions_request{}, 3));

  {  // negative size
    test::raw_client c(port);
    ASSERT_TRUE(c.send_bytes(frame_of({}, -5)));
    EXPECT_TRUE(c.closed_by_peer());
  }
  {  // larger than socket.request.max.bytes (100 MiB default): no allocation, closed
    test::raw_client c(port);
    ASSERT_TRUE(c.send_bytes(frame_of({}, 0x7fffffff)));
    EXPECT_TRUE(c.closed_by_peer());
  }
  {  // unknown api key
    test::raw_client c(port);
    ASSERT_TRUE(c.send_bytes(frame_of({0x03, 0xe7, 0, 0, 0, 0, 0, 1, 0xff, 0xff}, 10)));
    EXPECT_TRUE(c.closed_by_peer());
  }
  {  // Metadata v1 body with an absurd topic count
    test::raw_client c(port);
    ASSERT_TRUE(c.send_bytes(frame_of({0, 3, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff}, 14)));
    EXPECT_TRUE(c.closed_by_peer());
  }
  {  // string length beyond the frame
    test::raw_client c(port);
    ASSERT_TRUE(c.send_bytes(frame_of({0, 3, 0, 1, 0, 0, 0, 1, 0x7f, 0xff}, 10)));
    EXPECT_TRUE(c.closed_by_peer());
  }
  {  // unsupported version of a non-ApiVersions API
    test::raw_client c(port);
    ASSERT_TRUE(c.send_bytes(frame_of({0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff}, 10)));
    EXPECT_TRUE(c.closed_by_peer());
  }
  // The well-behaved connection is unaffected.
  auto again = good.call<protocol::api_versions_response>(protocol::api_versions_request{}, 3);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->error_code, 0);
}

// A produce request of `records` values of `value_bytes` each for partition 0 of `topic`.
protocol::produce_request big_produce(const std::string& topic, int records, std::size_t value_bytes, char fill) {
  record::batch_builder bb;
  std::string value(value_bytes, fill);
  // Current timestamps: 1970 ones would roll the segment and let time retention drop it.
  std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
  for (int i = 0; i < records; ++i) {
    value[0] = char('a' + i % 26);
    bb.add(now_ms + i, std::string_view("k"), std::string_view(value));
  }
  protocol::produce_request p;
  p.acks = -1;
  p.timeout_ms = 5000;
  auto& t = p.topic_data.emplace_back();
  t.name = topic;
  t.partition_data.push_back({0, std::move(bb.build().value())});
  return p;
}

// Reads the answer to a Produce v7 request of one partition: the correlation id, no error
// and the base offset.
void expect_produced(test::raw_client& c, std::int32_t corr, std::int64_t base, const std::string& what,
                     int timeout_ms) {
  auto resp = c.read_frame(timeout_ms);
  ASSERT_TRUE(resp) << what << ": request " << corr << " was not answered";
  protocol::reader r(resp->data(), resp->size());
  EXPECT_EQ(r.read_int32(), corr);
  protocol::produce_response pr;
  pr.decode(r, 7);
  ASSERT_EQ(pr.responses.size(), 1u);
  EXPECT_EQ(pr.responses[0].partition_responses[0].error_code, 0);
  EXPECT_EQ(pr.responses[0].partition_responses[0].base_offset, base);
}

// Frames of 0.9 MB (one whole buffer) and 3 MB (grown as it arrives) sent in pieces of
// random sizes with pauses, the last byte alone after a pause, and a small request right
// behind in the same write: each is answered, and every record reads back.
TEST(connection_test, large_frames_arriving_in_pieces_of_any_size_are_read_whole) {
  embedded_broker b{embedded_broker_options{{}, "127.0.0.1:0", {{"message.max.bytes", "8388608"}}}};
  test::raw_client c(port_of(b));
  ASSERT_TRUE(c.create_topic("big"));

  std::mt19937 rng(7);
  std::int64_t expected_records = 0;
  std::int32_t corr = 10;
  struct shape {
    int records;
    char fill;
    bool in_pieces;  // else: the rest in one write, and the small request alone after a pause
  };
  for (auto [records, fill, in_pieces] : {shape{900, 'x', true}, shape{3000, 'y', true}, shape{900, 'z', false}}) {
    protocol::request_header h{0, 7, corr, std::string("pieces")};
    bytes frame = protocol::encode_request_frame(h, big_produce("big", records, 1000, fill));
    protocol::request_header h2{18, 3, corr + 1, std::string("pieces")};
    bytes behind = protocol::encode_request_frame(h2, protocol::api_versions_request{});
    std::size_t at = 0;
    auto send_upto = [&](std::size_t end) {
      ASSERT_TRUE(c.send_bytes(bytes(frame.begin() + std::ptrdiff_t(at), frame.begin() + std::ptrdiff_t(end))));
      at = end;
    };
    send_upto(4);  // the size alone
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    send_upto(70000);  // past the first chunk
    if (in_pieces) {
      while (frame.size() - at > 1) {
        std::size_t piece = std::min<std::size_t>(frame.size() - 1 - at, 1 + rng() % 150000);
        send_upto(at + piece);
        if (rng() % 4 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 30));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      bytes last = {frame.back()};
      last.insert(last.end(), behind.begin(), behind.end());
      ASSERT_TRUE(c.send_bytes(last));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      send_upto(frame.size());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      ASSERT_TRUE(c.send_bytes(behind));  // a small frame alone: read at once, whatever came before
    }

    expect_produced(c, corr, expected_records, "frame of " + std::to_string(records) + " records", 10000);
    expected_records += records;
    auto small = c.read_frame(5000);
    ASSERT_TRUE(small) << "the request behind the large frame was not answered";
    protocol::reader r2(small->data(), small->size());
    EXPECT_EQ(r2.read_int32(), corr + 1);
    corr += 2;
  }

  // Everything reads back (the fetch returns whole batches whose CRCs the reader checks).
  std::int64_t next = 0;
  while (next < expected_records) {
    protocol::fetch_request f;
    f.replica_id = -1;
    f.max_wait_ms = 0;
    f.min_bytes = 1;
    f.max_bytes = 16 << 20;
    f.topics.push_back({"big", {{0, -1, next, -1, 16 << 20}}});
    auto fr = c.call<protocol::fetch_response>(f, 11);
    ASSERT_TRUE(fr);
    auto& pd = fr->responses[0].partitions[0];
    ASSERT_EQ(pd.error_code, 0) << "at offset " << next << ", high watermark " << pd.high_watermark << ", log start " << pd.log_start_offset;
    ASSERT_TRUE(pd.records && !pd.records->empty()) << "at offset " << next;
    next = test::walk_fetched_batches(*pd.records, next);
    ASSERT_GE(next, 0);
  }
  EXPECT_EQ(next, expected_records);
}

// The broker asks the kernel to wake it only once a large chunk of a frame is there
// (SO_RCVLOWAT). On a connection whose receive window has grown (many megabytes sent
// fast), the window no longer forces an early wake-up, so a mark above what the frame
// still misses would wait forever: here part of each frame arrives, then after a pause the
// rest, and nothing more until the answer.
TEST(connection_test, large_frames_split_in_two_on_a_wide_window_are_answered) {
  embedded_broker b{embedded_broker_options{{}, "127.0.0.1:0", {{"message.max.bytes", "8388608"}}}};
  test::raw_client c(port_of(b));
  ASSERT_TRUE(c.create_topic("wide"));
  std::int32_t corr = 100;
  std::int64_t expected_base = 0;
  auto expect_answer = [&](std::int32_t want_corr, int records, const char* what) {
    expect_produced(c, want_corr, expected_base, what, 5000);
    expected_base += records;
  };
  // Widen the window: 40 frames of about 1 MB, 4 in flight at a time.
  bytes frame = protocol::encode_request_frame(protocol::request_header{0, 7, 0, std::string("wide")},
                                               big_produce("wide", 950, 1000, 'w'));
  auto with_corr = [&](std::int32_t id) {
    bytes f = frame;
    for (int i = 0; i < 4; ++i) f[8 + std::size_t(i)] = std::uint8_t(std::uint32_t(id) >> (24 - 8 * i));
    return f;
  };
  std::int32_t answered = corr;
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(c.send_bytes(with_corr(corr++)));
    if (corr - answered >= 4) expect_answer(answered++, 950, "warm-up");
  }
  while (answered < corr) expect_answer(answered++, 950, "warm-up");
  for (std::size_t first : {std::size_t(100000), std::size_t(300000), std::size_t(700000)}) {
    bytes f = with_corr(corr);
    ASSERT_TRUE(c.send_bytes(bytes(f.begin(), f.begin() + std::ptrdiff_t(first))));
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    ASSERT_TRUE(c.send_bytes(bytes(f.begin() + std::ptrdiff_t(first), f.end())));
    expect_answer(corr++, 950, "split frame");
  }
}

// socket.tcp.congestion: auto gives loopback clients reno (no pacing timers), leaves
// others alone; a name is applied to all; default touches nothing.
TEST(connection_test, tcp_congestion_follows_the_setting) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  auto congestion_of = [](boost::asio::ip::tcp::socket& s) {
    char name[32] = {};
    socklen_t len = sizeof name;
    EXPECT_EQ(::getsockopt(s.native_handle(), IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
    return std::string(name);
  };
  auto fresh = [&] {
    boost::asio::ip::tcp::socket client(io), server(io);
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);
    return std::make_pair(std::move(client), std::move(server));
  };
  const auto loopback = boost::asio::ip::make_address("127.0.0.1");
  const auto remote = boost::asio::ip::make_address("192.0.2.7");
  {
    auto [c, s] = fresh();
    std::string system_default = congestion_of(s);
    EXPECT_EQ(apply_tcp_congestion(s.native_handle(), "default", loopback), 0);
    EXPECT_EQ(congestion_of(s), system_default);
    EXPECT_EQ(apply_tcp_congestion(s.native_handle(), "auto", remote), 0);
    EXPECT_EQ(congestion_of(s), system_default) << "auto leaves non-loopback clients alone";
    EXPECT_EQ(apply_tcp_congestion(s.native_handle(), "auto", loopback), 0);
    EXPECT_EQ(congestion_of(s), "reno");
  }
  {
    // A v4 client of a dual-stack listener shows as ::ffff:127.0.0.1.
    auto [c, s] = fresh();
    std::string system_default = congestion_of(s);
    EXPECT_EQ(apply_tcp_congestion(s.native_handle(), "auto", boost::asio::ip::make_address("::ffff:192.0.2.7")), 0);
    EXPECT_EQ(congestion_of(s), system_default);
    EXPECT_EQ(apply_tcp_congestion(s.native_handle(), "auto", boost::asio::ip::make_address("::ffff:127.0.0.1")), 0);
    EXPECT_EQ(congestion_of(s), "reno");
  }
  {
    auto [c, s] = fresh();
    EXPECT_EQ(apply_tcp_congestion(s.native_handle(), "reno", remote), 0);
    EXPECT_EQ(congestion_of(s), "reno");
    EXPECT_NE(apply_tcp_congestion(s.native_handle(), "no-such-cc", remote), 0);
  }
  broker_config cfg;
  EXPECT_FALSE(cfg.set("socket.tcp.congestion", "cubic").has_value());
  EXPECT_EQ(cfg.tcp_congestion, "cubic");
  EXPECT_TRUE(cfg.set("socket.tcp.congestion", "").has_value());
  EXPECT_TRUE(cfg.set("socket.tcp.congestion", "a b").has_value());
  EXPECT_TRUE(cfg.set("socket.tcp.congestion", std::string(16, 'x')).has_value());
  // A name the kernel does not know stops the start, saying what is available.
  embedded_broker_options o;
  o.config["socket.tcp.congestion"] = "no-such-cc";
  try {
    embedded_broker b(o);
    ADD_FAILURE() << "started with an unknown congestion control";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("available: "), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace eddy::broker
