#include "broker/txn/state_log.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include "core/record/batch_header.h"
#include "core/record/crc32c.h"

namespace eddy::broker::txn {

namespace {
constexpr std::size_t header_size = 8;
constexpr std::uint32_t max_record = 64u << 20;

bool write_all(int fd, const std::uint8_t* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= std::size_t(w);
  }
  return true;
}

std::vector<std::uint8_t> frame(std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> out(header_size + payload.size());
  record::be::store32(out.data(), std::uint32_t(payload.size()));
  record::be::store32(out.data() + 4, record::crc32c(payload.data(), payload.size()));
  if (!payload.empty()) std::memcpy(out.data() + header_size, payload.data(), payload.size());
  return out;
}

bool sync_dir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}
}  // namespace

state_log::~state_log() { close(); }

bool state_log::fail(const std::string& what) {
  error_ = what + " " + path_.string() + ": " + std::strerror(errno);
  return false;
}

std::optional<std::vector<std::vector<std::uint8_t>>> state_log::open(const std::filesystem::path& path) {
  close();
  path_ = path;
  truncated_ = 0;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    fail("cannot open");
    return std::nullopt;
  }
  std::vector<std::uint8_t> all;
  std::uint8_t buf[1 << 16];
  for (;;) {
    ssize_t r = ::read(fd_, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      fail("cannot read");
      return std::nullopt;
    }
    if (r == 0) break;
    all.insert(all.end(), buf, buf + r);
  }
  std::vector<std::vector<std::uint8_t>> records;
  std::size_t pos = 0;
  while (all.size() - pos >= header_size) {
    std::uint32_t len = record::be::load32(all.data() + pos);
    std::uint32_t crc = record::be::load32(all.data() + pos + 4);
    if (len > max_record || all.size() - pos - header_size < len) break;
    const std::uint8_t* p = all.data() + pos + header_size;
    if (record::crc32c(p, len) != crc) break;
    records.emplace_back(p, p + len);
    pos += header_size + len;
  }
  if (pos < all.size()) {
    // A torn or corrupt tail: everything after the last whole record was never acknowledged.
    truncated_ = all.size() - pos;
    if (::ftruncate(fd_, off_t(pos)) != 0 || ::fsync(fd_) != 0) {
      fail("cannot truncate torn tail of");
      return std::nullopt;
    }
  }
  if (::lseek(fd_, off_t(pos), SEEK_SET) < 0) {
    fail("cannot seek");
    return std::nullopt;
  }
  size_ = pos;
  if (!sync_dir(path.parent_path())) {
    fail("cannot fsync directory of");
    return std::nullopt;
  }
  return records;
}

bool state_log::append(std::span<const std::uint8_t> payload, bool sync) {
  if (fd_ < 0) {
    error_ = "state log not open";
    return false;
  }
  auto f = frame(payload);
  if (!write_all(fd_, f.data(), f.size())) {
    // Cut a partial write so later records stay readable.
    fail("cannot append to");
    (void)::ftruncate(fd_, off_t(size_));
    (void)::lseek(fd_, off_t(size_), SEEK_SET);
    return false;
  }
  size_ += f.size();
  if (sync && ::fdatasync(fd_) != 0) return fail("cannot fsync");
  return true;
}

bool state_log::rewrite(const std::vector<std::vector<std::uint8_t>>& records) {
  auto tmp = path_;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail("cannot create temporary file for");
  std::vector<std::uint8_t> all;
  for (const auto& r : records) {
    auto f = frame(r);
    all.insert(all.end(), f.begin(), f.end());
  }
  if (!write_all(fd, all.data(), all.size()) || ::fsync(fd) != 0) {
    fail("cannot write temporary file for");
    ::close(fd);
    return false;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return fail("cannot rename snapshot over");
  if (!sync_dir(path_.parent_path())) return fail("cannot fsync directory of");
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) return fail("cannot reopen");
  size_ = all.size();
  return true;
}

void state_log::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace eddy::broker::txn
