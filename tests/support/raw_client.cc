#include "tests/support/raw_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace eddy::test {

raw_client::raw_client(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

raw_client::~raw_client() {
  if (fd_ >= 0) ::close(fd_);
}

bool raw_client::send_bytes(const protocol::bytes& b) {
  std::size_t off = 0;
  while (off < b.size()) {
    ssize_t n = ::send(fd_, b.data() + off, b.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += std::size_t(n);
  }
  return true;
}

namespace {
bool read_exact(int fd, std::uint8_t* p, std::size_t n, int timeout_ms) {
  std::size_t off = 0;
  while (off < n) {
    pollfd pfd{fd, POLLIN, 0};
    int pr = ::poll(&pfd, 1, timeout_ms);
    if (pr <= 0) return false;
    ssize_t r = ::recv(fd, p + off, n - off, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    off += std::size_t(r);
  }
  return true;
}
}  // namespace

std::optional<protocol::bytes> raw_client::read_frame(int timeout_ms) {
  std::uint8_t sz[4];
  if (!read_exact(fd_, sz, 4, timeout_ms)) return std::nullopt;
  std::uint32_t n = std::uint32_t(sz[0]) << 24 | std::uint32_t(sz[1]) << 16 | std::uint32_t(sz[2]) << 8 | sz[3];
  if (n > (64u << 20)) return std::nullopt;
  protocol::bytes b(n);
  if (!read_exact(fd_, b.data(), n, timeout_ms)) return std::nullopt;
  return b;
}

bool raw_client::closed_by_peer(int timeout_ms) {
  pollfd pfd{fd_, POLLIN, 0};
  if (::poll(&pfd, 1, timeout_ms) <= 0) return false;
  std::uint8_t c;
  ssize_t r = ::recv(fd_, &c, 1, MSG_PEEK);
  return r == 0 || (r < 0 && errno == ECONNRESET);
}

}  // namespace eddy::test
