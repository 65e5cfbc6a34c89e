// connection: one client socket. Reads size-prefixed request frames, decodes the header,
// dispatches each request to its handler, and writes responses back strictly in request
// order (clients pipeline requests and match responses by order and correlation id).
//
// Bad input never hurts anyone else: a frame size <= 0 or above socket.request.max.bytes,
// a malformed header or body, an unknown API key or an unsupported version (other than
// ApiVersions, which answers UNSUPPORTED_VERSION per KIP-511) closes this one connection.
// At most max_in_flight requests are queued per connection; reading pauses beyond that.
//
// Thread-safety: event-loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "broker/server/request_context.h"
#include "core/protocol/wire.h"

namespace eddy::broker {

class broker;

// Sets the TCP congestion control of `fd` (a client connection from `peer`) as
// socket.tcp.congestion says (see broker_config). Returns the error of setsockopt, 0 when
// it succeeded or nothing was to be set.
int apply_tcp_congestion(int fd, const std::string& setting, const boost::asio::ip::address& peer);

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(broker& b, boost::asio::ip::tcp::socket socket, std::uint64_t id);
  void start();
  void close();
  std::uint64_t id() const { return id_; }

 private:
  struct slot {
    response_frame frame;
    bool ready = false;
  };
  static constexpr std::size_t max_in_flight = 128;
  static constexpr std::size_t low_water_min = 128 * 1024;
  static constexpr std::size_t low_water_max = 4 * 1024 * 1024;

  void read_size();
  void read_body(std::uint32_t size);
  void dispatch(frame_buffer frame, std::size_t frame_start);
  // Moves the first bytes of a frame into a buffer for the whole frame, placed as
  // placement_ says; `shift` becomes the padding before the frame.
  void place_frame(frame_buffer& buf, std::size_t& shift, std::size_t size);
  // Asks the kernel to wake the loop only once `bytes` can be read (SO_RCVLOWAT), for
  // reads of at least low_water_min bytes (capped at low_water_max); 1 otherwise.
  void set_receive_low_water(std::size_t bytes);
  void on_response(std::shared_ptr<slot> s, response_frame&& frame);
  void flush();
  void fail(const char* why);

  broker& broker_;
  boost::asio::ip::tcp::socket socket_;
  std::uint64_t id_;
  std::string client_host_;
  std::uint8_t size_buf_[4];
  std::deque<std::shared_ptr<slot>> pending_;
  // Frames being written, in order, sent as one gather write (no copy into one buffer;
  // spliced record pieces go out from where they are).
  std::vector<response_frame> writing_frames_;
  bool writing_ = false;
  bool reading_ = false;
  bool closed_ = false;
  int receive_low_water_ = 1;
  std::shared_ptr<frame_placement> placement_ = std::make_shared<frame_placement>();
};

}  // namespace eddy::broker
