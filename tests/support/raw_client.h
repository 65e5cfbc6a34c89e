// raw_client: a blocking Kafka-protocol client for tests, built on the generated codec.
// It lets tests send exactly the bytes they want (malformed ones included) and decode
// the broker's answers. Not for production use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/protocol/header.h"
#include "core/protocol/messages/create_topics.h"
#include "core/protocol/wire.h"

namespace eddy::test {

class raw_client {
 public:
  explicit raw_client(std::uint16_t port);
  ~raw_client();
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Sends raw bytes; false when the socket is closed.
  bool send_bytes(const protocol::bytes& b);
  // Reads one size-prefixed response frame (without the size); nullopt on EOF/timeout.
  std::optional<protocol::bytes> read_frame(int timeout_ms = 5000);
  // True when the broker closed the connection (EOF) within the timeout.
  bool closed_by_peer(int timeout_ms = 2000);

  template <class Request>
  bool send(const Request& req, std::int16_t version, std::int32_t correlation_id) {
    protocol::request_header h{std::int16_t(Request::message_api_key), version, correlation_id, std::string("raw-test")};
    return send_bytes(protocol::encode_request_frame(h, req));
  }

  // CreateTopics (v4) of one topic with replication factor 1; the response, nullopt when
  // none came back.
  std::optional<protocol::create_topics_response> create_topic(const std::string& name, std::int32_t partitions = 1) {
    protocol::create_topics_request ct;
    ct.topics.push_back({name, partitions, 1, {}, {}});
    ct.timeout_ms = 1000;
    return call<protocol::create_topics_response>(ct, 4);
  }

  // Sends a request and decodes the response of the same API.
  template <class Response, class Request>
  std::optional<Response> call(const Request& req, std::int16_t version) {
    std::int32_t corr = next_correlation_++;
    if (!send(req, version, corr)) return std::nullopt;
    auto frame = read_frame();
    if (!frame) return std::nullopt;
    protocol::reader r(frame->data(), frame->size());
    if (r.read_int32() != corr) return std::nullopt;
    if (protocol::response_header_version(std::int16_t(Request::message_api_key), version) >= 1) r.skip_tagged_fields();
    Response resp;
    resp.decode(r, version);
    return resp;
  }

 private:
  int fd_ = -1;
  std::int32_t next_correlation_ = 1;
};

}  // namespace eddy::test
