// request_context: one decoded request on its way through a handler.
//
// The server creates one per request frame, with the header already decoded and the
// body still as bytes, and passes it (as a shared_ptr, so the handler may answer later:
// long-poll fetches, fsync-before-ack produces, group joins) to exactly one handler.
// The handler decodes the body with decode<T>() and answers exactly once with
// respond(message) or, for acks=0 produce, no_response(). Responses leave each
// connection in request order whatever order handlers answer in.
//
// Thread-safety: handlers run on the broker's event-loop thread, and respond() must be
// called there too (post to broker::io() from other threads).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <boost/container/vector.hpp>

#include "core/protocol/header.h"
#include "core/protocol/wire.h"

namespace eddy::broker {

class broker;

// A request frame as read from the socket: grown without zero-filling (the bytes are
// overwritten by the read at once), which matters for megabyte produce requests.
using frame_buffer = boost::container::vector<std::uint8_t>;

class request_context {
 public:
  using sink = std::function<void(protocol::bytes&& frame)>;  // empty frame = no response

  request_context(broker& b, protocol::request_header h, frame_buffer frame, std::size_t body_offset, sink s,
                  std::uint64_t connection_id, std::string client_host = "/127.0.0.1")
      : broker_(b), header_(std::move(h)), frame_(std::move(frame)), body_offset_(body_offset), sink_(std::move(s)),
        connection_id_(connection_id), client_host_(std::move(client_host)) {}

  broker& owner() { return broker_; }
  const protocol::request_header& header() const { return header_; }
  std::int16_t version() const { return header_.api_version; }
  std::uint64_t connection_id() const { return connection_id_; }
  const std::string client_id() const { return header_.client_id.value_or(""); }
  // The peer's address as Kafka reports it in DescribeGroups ("/127.0.0.1").
  const std::string& client_host() const { return client_host_; }

  // Decodes the whole body as T in this request's version; throws protocol::decode_error
  // on malformed or trailing bytes (the server then closes the connection).
  // With `borrow_records`, `records` fields are views into this context's frame (no copy):
  // valid while this context lives, and writable through record_bytes::mutable_data().
  template <class T>
  T decode(bool borrow_records = false) const {
    T msg;
    protocol::reader r(frame_.data() + body_offset_, frame_.size() - body_offset_);
    r.borrow_records(borrow_records);
    msg.decode(r, header_.api_version);
    if (r.remaining() != 0) throw protocol::decode_error("trailing bytes after request body");
    return msg;
  }

  template <class T>
  void respond(const T& msg) {
    if (answered_) return;
    answered_ = true;
    protocol::bytes out;
    out.reserve(64);
    protocol::encode_response_frame(out, header_.api_key, header_.api_version, header_.correlation_id, msg);
    sink_(std::move(out));
  }
  void no_response() {
    if (answered_) return;
    answered_ = true;
    sink_(protocol::bytes{});
  }
  bool answered() const { return answered_; }

 private:
  broker& broker_;
  protocol::request_header header_;
  frame_buffer frame_;
  std::size_t body_offset_;
  sink sink_;
  std::uint64_t connection_id_;
  std::string client_host_;
  bool answered_ = false;
};

using request_ptr = std::shared_ptr<request_context>;

}  // namespace eddy::broker
