#include "broker/server/connection.h"

#include <cerrno>
#include <cstring>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include "broker/broker.h"
#include "broker/handlers/registry.h"
#include "core/protocol/error_code.h"
#include "core/protocol/header.h"
#include "core/protocol/messages/api_versions.h"

namespace eddy::broker {

namespace asio = boost::asio;

int apply_tcp_congestion(int fd, const std::string& setting, const asio::ip::address& peer) {
  // Measured on loopback (broker_bench, consume and tail steps): with BBR, the system's
  // default here, each send arms a pacing timer, and the broker spent about twice the CPU
  // per GB sent (1.0-1.3 s against 0.3-0.6 s with reno or cubic).
  std::string name = setting;
  if (setting == "default") return 0;
  if (setting == "auto") {
    bool loopback = peer.is_loopback() ||
                    (peer.is_v6() && peer.to_v6().is_v4_mapped() &&
                     boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, peer.to_v6()).is_loopback());
    if (!loopback) return 0;
    name = "reno";  // always available and always allowed
  }
  if (::setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name.data(), socklen_t(name.size())) != 0) return errno;
  return 0;
}

connection::connection(broker& b, asio::ip::tcp::socket socket, std::uint64_t id)
    : broker_(b), socket_(std::move(socket)), id_(id) {
  boost::system::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  auto ep = socket_.remote_endpoint(ec);
  client_host_ = ec ? "/unknown" : "/" + ep.address().to_string();
  // Checked at start (broker::start); a failure here keeps the default.
  if (!ec) (void)apply_tcp_congestion(socket_.native_handle(), broker_.config().tcp_congestion, ep.address());
}

void connection::start() { read_size(); }

void connection::read_size() {
  if (closed_) return;
  if (pending_.size() >= max_in_flight) {
    reading_ = false;  // resumed by on_response once the client drains some responses
    return;
  }
  reading_ = true;
  auto self = shared_from_this();
  asio::async_read(socket_, asio::buffer(size_buf_, 4), [self](boost::system::error_code ec, std::size_t) {
    if (ec) return self->fail(nullptr);
    std::int32_t size = std::int32_t(std::uint32_t(self->size_buf_[0]) << 24 | std::uint32_t(self->size_buf_[1]) << 16 |
                                     std::uint32_t(self->size_buf_[2]) << 8 | std::uint32_t(self->size_buf_[3]));
    if (size < 8 || size > self->broker_.config().socket_request_max_bytes)
      return self->fail("frame size out of range");
    self->read_body(std::uint32_t(size));
  });
}

// Reads the frame in chunks, growing the buffer only as bytes arrive: a client that
// announces a huge frame and sends nothing costs us nothing. Once the first 64 KiB have
// arrived (or wait in the socket when the size has been read), a frame of up to 2 MiB (a full default-sized produce request) gets its whole
// buffer at once (placed per placement_, see frame_placement) instead of being regrown and
// copied at every doubling.
//
// Each step is one receive of all that the chunk misses (asio's async_read would ask for
// 64 KiB at a time and poll epoll between them), and for a large chunk the socket's low
// water mark is that many bytes, so the kernel wakes the loop once the chunk is there
// instead of at every segment. The mark never exceeds what the frame still misses: a
// client sends nothing more until it has its answer.
void connection::read_body(std::uint32_t size) {
  static constexpr std::size_t first_chunk = 64 * 1024;
  static constexpr std::size_t reserve_whole_up_to = 2 * 1024 * 1024;
  auto buf = std::make_shared<frame_buffer>();
  auto shift = std::make_shared<std::size_t>(0);  // padding before the frame in *buf
  boost::system::error_code ec;
  if (size > first_chunk && size <= reserve_whole_up_to && socket_.available(ec) >= first_chunk && !ec)
    place_frame(*buf, *shift, size);  // the first 64 KiB are here already: no need to copy them over later
  else
    buf->reserve(std::min<std::size_t>(size, first_chunk));
  auto self = shared_from_this();
  auto step = std::make_shared<std::function<void()>>();
  *step = [self, buf, shift, size, step]() {
    std::size_t have = buf->size() - *shift;
    if (have >= first_chunk && size <= reserve_whole_up_to && buf->capacity() < *shift + size)
      self->place_frame(*buf, *shift, size);
    std::size_t chunk = buf->capacity() >= *shift + size
                            ? size - have
                            : std::min<std::size_t>(size - have, std::max<std::size_t>(first_chunk, have));
    self->set_receive_low_water(chunk);
    buf->resize(*shift + have + chunk, boost::container::default_init);
    self->socket_.async_read_some(
        asio::buffer(buf->data() + *shift + have, chunk),
        [self, buf, shift, size, step, have](boost::system::error_code ec, std::size_t n) {
          if (ec) {
            *step = nullptr;
            return self->fail(nullptr);
          }
          buf->resize(*shift + have + n);
          if (buf->size() - *shift < size) return (*step)();
          *step = nullptr;  // break the self-reference
          self->set_receive_low_water(1);
          self->dispatch(std::move(*buf), *shift);
        });
  };
  (*step)();
}

void connection::set_receive_low_water(std::size_t bytes) {
  int want = bytes >= low_water_min ? int(std::min<std::size_t>(bytes, low_water_max)) : 1;
  if (want == receive_low_water_) return;
  if (::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVLOWAT, &want, sizeof want) == 0) receive_low_water_ = want;
}

void connection::place_frame(frame_buffer& buf, std::size_t& shift, std::size_t size) {
  constexpr std::size_t a = frame_placement_alignment;
  frame_buffer whole;
  whole.reserve(size + a - 1);
  std::size_t s = 0;
  if (placement_->valid) {
    std::size_t at = (reinterpret_cast<std::uintptr_t>(whole.data()) + placement_->records_offset) % a;
    s = (placement_->address_modulo + a - at) % a;
  }
  std::size_t have = buf.size() - shift;
  whole.resize(s + have, boost::container::default_init);
  if (have != 0) std::memcpy(whole.data() + s, buf.data() + shift, have);
  buf = std::move(whole);
  shift = s;
}

void connection::dispatch(frame_buffer frame, std::size_t frame_start) {
  if (closed_) return;
  protocol::request_header header;
  std::size_t body_offset = 0;
  try {
    protocol::reader r(frame.data() + frame_start, frame.size() - frame_start);
    header = protocol::decode_request_header(r);
    body_offset = std::size_t(r.position() - frame.data());
  } catch (const protocol::decode_error&) {
    return fail("malformed request header");
  }
  const handlers::handler_entry* h = handlers::find_handler(header.api_key);
  if (h == nullptr) return fail("unknown API key");
  auto s = std::make_shared<slot>();
  pending_.push_back(s);
  std::weak_ptr<connection> weak = shared_from_this();
  auto sink = [weak, s](response_frame&& out) {
    if (auto c = weak.lock()) c->on_response(s, std::move(out));
  };
  if (header.api_version < h->min_version || header.api_version > h->max_version) {
    if (header.api_key != std::int16_t(protocol::api_key::api_versions)) return fail("unsupported API version");
    // KIP-511: answer UNSUPPORTED_VERSION with a v0 body listing ApiVersions' own range.
    protocol::api_versions_response resp;
    resp.error_code = std::int16_t(protocol::error_code::unsupported_version);
    resp.api_keys.push_back({std::int16_t(protocol::api_key::api_versions), h->min_version, h->max_version});
    response_frame out;
    protocol::encode_response_frame(out.bytes, header.api_key, 0, header.correlation_id, resp);
    sink(std::move(out));
    return read_size();
  }
  auto ctx = std::make_shared<request_context>(broker_, std::move(header), std::move(frame), body_offset,
                                              sink, id_, client_host_, frame_start, placement_,
                                              socket_.native_handle());
  broker_.note_request(id_);
  try {
    h->handle(ctx);
  } catch (const protocol::decode_error& e) {
    return fail("malformed request body");
  } catch (const std::exception& e) {
    fmt::print(stderr, "eddy-broker: handler for api {} failed: {}\n", ctx->header().api_key, e.what());
    return fail("handler error");
  }
  read_size();
}

void connection::on_response(std::shared_ptr<slot> s, response_frame&& frame) {
  if (closed_) return;
  s->frame = std::move(frame);
  s->ready = true;
  flush();
  if (!reading_ && pending_.size() < max_in_flight) read_size();
}

void connection::flush() {
  if (writing_ || closed_) return;
  while (!pending_.empty() && pending_.front()->ready) {
    if (!pending_.front()->frame.bytes.empty()) writing_frames_.push_back(std::move(pending_.front()->frame));
    pending_.pop_front();
  }
  if (writing_frames_.empty()) return;
  writing_ = true;
  std::vector<asio::const_buffer> bufs;
  bufs.reserve(writing_frames_.size());
  for (auto& f : writing_frames_) {
    std::size_t from = 0;
    for (const auto& sp : f.splices) {
      if (sp.at > from) bufs.emplace_back(f.bytes.data() + from, sp.at - from);
      bufs.emplace_back(sp.bytes.data(), sp.bytes.size());
      from = sp.at;
    }
    if (f.bytes.size() > from) bufs.emplace_back(f.bytes.data() + from, f.bytes.size() - from);
  }
  auto self = shared_from_this();
  asio::async_write(socket_, bufs, [self](boost::system::error_code ec, std::size_t) {
    self->writing_ = false;
    if (ec) return self->fail(nullptr);
    self->writing_frames_.clear();
    self->flush();
    if (!self->reading_ && self->pending_.size() < max_in_flight) self->read_size();
  });
}

void connection::fail(const char* why) {
  if (closed_) return;
  if (why != nullptr) {
    boost::system::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    fmt::print(stderr, "eddy-broker: closing connection {} from {}:{}: {}\n", id_, ep.address().to_string(), ep.port(),
               why);
  }
  close();
  broker_.on_connection_closed(id_);
}

void connection::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  pending_.clear();
}

}  // namespace eddy::broker
