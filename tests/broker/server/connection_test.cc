// The server's handling of framing and bad input: pipelined responses in request order,
// KIP-511 ApiVersions fallback, and closing only the offending connection for oversized,
// negative, truncated or garbled frames and unknown APIs.
#include <gtest/gtest.h>

#include "broker/handlers/registry.h"
#include "core/protocol/messages/all.h"
#include "eddy/broker/embedded_broker.h"
#include "tests/support/raw_client.h"

namespace eddy::broker {
namespace {

using protocol::bytes;

std::uint16_t port_of(const embedded_broker& b) {
  auto s = b.bootstrap_servers();
  return std::uint16_t(std::stoi(s.substr(s.rfind(':') + 1)));
}

bytes frame_of(std::initializer_list<std::uint8_t> body, std::int32_t size) {
  bytes b = {std::uint8_t(size >> 24), std::uint8_t(size >> 16), std::uint8_t(size >> 8), std::uint8_t(size)};
  b.insert(b.end(), body);
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
  protocol::create_topics_request ct;
  ct.topics.push_back({"pipe", 1, 1, {}, {}});
  ct.timeout_ms = 1000;
  ASSERT_TRUE(c.call<protocol::create_topics_response>(ct, 4));
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

}  // namespace
}  // namespace eddy::broker
