#include "broker/log/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <vector>
#include <cstring>

#include <fmt/format.h>

namespace eddy::broker::log {

using protocol::error_code;

log_error io_error(const std::string& what, const std::filesystem::path& path, int err) {
  return make_error(error_code::kafka_storage_error,
                    fmt::format("{} {}: {}", what, path.string(), std::strerror(err)));
}

result<std::shared_ptr<file>> file::open(const std::filesystem::path& path, bool create) {
  int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return io_error("cannot open", path, errno);
  return std::make_shared<file>(fd, path);
}

result<std::shared_ptr<file>> file::open_direct(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_DIRECT);
  if (fd < 0) return io_error("cannot open with O_DIRECT", path, errno);
  return std::make_shared<file>(fd, path);
}

result<std::shared_ptr<file>> file::reopen_direct_read(const file& f) {
  std::string self = "/proc/self/fd/" + std::to_string(f.fd());
  int fd = ::open(self.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);
  if (fd < 0) return io_error("cannot open with O_DIRECT", f.path(), errno);
  return std::make_shared<file>(fd, f.path());
}

file::~file() {
  if (fd_ >= 0) ::close(fd_);
}

result<std::uint64_t> file::size() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return io_error("cannot stat", path_, errno);
  return std::uint64_t(st.st_size);
}

result<std::size_t> file::pread(std::span<std::uint8_t> data, std::uint64_t pos) const {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pread(fd_, data.data() + done, data.size() - done, off_t(pos + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot read", path_, errno);
    }
    if (n == 0) break;
    done += std::size_t(n);
  }
  return done;
}

result<void> file::pwrite(std::span<const std::uint8_t> data, std::uint64_t pos) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, off_t(pos + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write", path_, errno);
    }
    done += std::size_t(n);
  }
  return {};
}

result<void> file::pwritev(std::span<const std::span<const std::uint8_t>> parts, std::uint64_t pos, int* raw_errno) {
  std::vector<struct iovec> iov;
  iov.reserve(parts.size());
  for (auto p : parts)
    if (!p.empty()) iov.push_back({const_cast<std::uint8_t*>(p.data()), p.size()});
  std::size_t first = 0;
  while (first < iov.size()) {
    int n_iov = int(std::min<std::size_t>(iov.size() - first, IOV_MAX));
    ssize_t n = ::pwritev(fd_, iov.data() + first, n_iov, off_t(pos));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (raw_errno) *raw_errno = errno;
      return io_error("cannot write", path_, errno);
    }
    // Skip what was written; a partly written iovec continues from where it stopped.
    pos += std::uint64_t(n);
    std::size_t left = std::size_t(n);
    while (first < iov.size() && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (left > 0) {
      iov[first].iov_base = static_cast<std::uint8_t*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return {};
}

result<void> file::truncate(std::uint64_t size) {
  if (::ftruncate(fd_, off_t(size)) != 0) return io_error("cannot truncate", path_, errno);
  return {};
}

result<void> file::sync() {
  if (::fdatasync(fd_) != 0) return io_error("cannot fsync", path_, errno);
  return {};
}

result<void> sync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open directory", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return io_error("cannot fsync directory", dir, err);
  return {};
}

result<void> write_file_atomic(const std::filesystem::path& path, std::string_view contents) {
  auto tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot create", tmp, errno);
  std::size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return io_error("cannot write", tmp, err);
    }
    done += std::size_t(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    return io_error("cannot fsync", tmp, err);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return io_error("cannot rename onto", path, errno);
  auto parent = path.parent_path();
  return sync_directory(parent.empty() ? std::filesystem::path(".") : parent);
}

result<std::string> read_small_file(const std::filesystem::path& path, std::size_t max_size) {
  auto f = file::open(path, false);
  if (!f) return f.error();
  auto sz = (*f)->size();
  if (!sz) return sz.error();
  if (*sz > max_size)
    return make_error(error_code::kafka_storage_error,
                      fmt::format("{} is {} bytes, more than the {} expected: corrupt or not ours",
                                  path.string(), *sz, max_size));
  std::string s(std::size_t(*sz), '\0');
  auto n = (*f)->pread({reinterpret_cast<std::uint8_t*>(s.data()), s.size()}, 0);
  if (!n) return n.error();
  s.resize(*n);
  return s;
}

result<index_file> open_index_file(const std::filesystem::path& path, bool load, std::size_t entry_size,
                                   std::uint64_t max_bytes, std::string_view what) {
  auto f = file::open(path, true);
  if (!f) return f.error();
  index_file out{std::move(*f), {}};
  if (!load) {
    if (auto r = out.handle->truncate(0); !r) return r.error();
    return out;
  }
  auto sz = out.handle->size();
  if (!sz) return sz.error();
  auto inconsistent = [&](std::string_view why) {
    return make_error(error_code::corrupt_message, fmt::format("{} {} is inconsistent: {}", what, path.string(), why));
  };
  if (*sz % entry_size != 0) return inconsistent(fmt::format("size is not a multiple of {}", entry_size));
  if (*sz > max_bytes) return inconsistent("implausibly large");
  out.contents.resize(*sz);
  auto n = out.handle->pread(out.contents, 0);
  if (!n) return n.error();
  if (*n != out.contents.size()) return inconsistent("short read");
  return out;
}

std::string offset_file_stem(std::int64_t offset) { return fmt::format("{:020d}", offset); }

}  // namespace eddy::broker::log
