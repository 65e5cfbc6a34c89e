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

#include <sys/ioctl.h>
#include <boost/container/vector.hpp>

#include "broker/log/block_pool.h"
#include "core/protocol/header.h"
#include "core/protocol/wire.h"

namespace eddy::broker {

class broker;

// Memory for frames from the log's block pool (see broker/log/block_pool.h): the tail
// cache keeps produce requests for a while, and a freed megabyte frame is used again for
// the next request instead of arriving in fresh pages. Stateless: every instance shares
// the process-wide pool.
template <class T>
struct frame_allocator {
  using value_type = T;
  frame_allocator() noexcept = default;
  template <class U>
  frame_allocator(const frame_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(log::block_pool::allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { log::block_pool::deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const frame_allocator<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const frame_allocator<U>&) const noexcept {
    return false;
  }
};

// A request frame as read from the socket: grown without zero-filling (the bytes are
// overwritten by the read at once), which matters for megabyte produce requests.
using frame_buffer = boost::container::vector<std::uint8_t, frame_allocator<std::uint8_t>>;

// Where a connection places the next large frame in memory: so that the byte at
// `records_offset` of the frame (a produce request's record batch, when the client sends
// the same shape again) lands at an address congruent to `address_modulo` modulo
// frame_placement_alignment. The produce handler sets it to the position where the
// partition's next batch will go in its file, which lets the log write the batch with
// O_DIRECT straight from the request (see segment.cc, zero-copy). Only a hint: a frame of
// another shape just costs the log a copy.
inline constexpr std::size_t frame_placement_alignment = 512;
struct frame_placement {
  bool valid = false;
  std::size_t records_offset = 0;
  std::size_t address_modulo = 0;
};

// A response on its way to the socket: the encoded bytes, record pieces that were not
// copied into them (each goes in at its position; see protocol::splice), and the owners
// that keep those pieces valid until the frame is written. Empty bytes = no response.
struct response_frame {
  protocol::bytes bytes;
  std::vector<protocol::splice> splices;
  std::vector<std::shared_ptr<const void>> owners;
};

class request_context {
 public:
  using sink = std::function<void(response_frame&& frame)>;
  // Record pieces at least this large are sent from where they are (respond_sharing);
  // smaller ones are cheaper to copy than to send as a separate piece.
  static constexpr std::size_t splice_min_bytes = 8 * 1024;

  // The frame's bytes start at `frame_start` in `frame` (placement padding before it);
  // `body_offset` counts from the start of `frame`.
  request_context(broker& b, protocol::request_header h, frame_buffer frame, std::size_t body_offset, sink s,
                  std::uint64_t connection_id, std::string client_host = "/127.0.0.1", std::size_t frame_start = 0,
                  std::shared_ptr<frame_placement> placement = nullptr, int socket_fd = -1)
      : broker_(b), header_(std::move(h)), frame_(std::move(frame)), frame_start_(frame_start),
        body_offset_(body_offset), sink_(std::move(s)), connection_id_(connection_id),
        client_host_(std::move(client_host)), placement_(std::move(placement)),
        socket_fd_(socket_fd) {}

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
    response_frame f;
    f.bytes.reserve(64);
    protocol::encode_response_frame(f.bytes, header_.api_key, header_.api_version, header_.correlation_id, msg);
    sink_(std::move(f));
  }
  // The same for a message whose records fields point into memory that `owners` keep
  // alive (a fetch answered from the log): large pieces are written to the socket from
  // there, not copied into the response.
  template <class T>
  void respond_sharing(const T& msg, std::vector<std::shared_ptr<const void>> owners) {
    if (answered_) return;
    answered_ = true;
    response_frame f;
    f.bytes.reserve(256);
    protocol::encode_response_frame(f.bytes, header_.api_key, header_.api_version, header_.correlation_id, msg,
                                    &f.splices, splice_min_bytes);
    if (!f.splices.empty()) f.owners = std::move(owners);
    sink_(std::move(f));
  }
  void no_response() {
    if (answered_) return;
    answered_ = true;
    sink_(response_frame{});
  }
  bool answered() const { return answered_; }

  // Asks the connection to place its next large frame so that the byte at the offset
  // `p` has in this frame lands at an address congruent to `file_position` (see
  // frame_placement). `p` points into this request's frame.
  void hint_next_frame(const std::uint8_t* p, std::uint64_t file_position) {
    if (!placement_) return;
    placement_->valid = true;
    placement_->records_offset = std::size_t(p - (frame_.data() + frame_start_));
    placement_->address_modulo = std::size_t(file_position % frame_placement_alignment);
  }

  // Bytes the client has sent that the broker has not read yet (FIONREAD on the socket):
  // the produce handler asks whether the client's next request is already waiting. Only
  // meaningful while the request is being dispatched; 0 without a socket (tests).
  std::size_t unread_input_bytes() const {
    int n = 0;
    if (socket_fd_ < 0 || ::ioctl(socket_fd_, FIONREAD, &n) != 0 || n < 0) return 0;
    return std::size_t(n);
  }

 private:
  broker& broker_;
  protocol::request_header header_;
  frame_buffer frame_;
  std::size_t frame_start_;
  std::size_t body_offset_;
  sink sink_;
  std::uint64_t connection_id_;
  std::string client_host_;
  std::shared_ptr<frame_placement> placement_;
  int socket_fd_;
  bool answered_ = false;
};

using request_ptr = std::shared_ptr<request_context>;

}  // namespace eddy::broker
