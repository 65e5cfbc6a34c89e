// Thin POSIX file helpers for the log: an owning file descriptor, full-length positional
// reads and writes that retry on EINTR/short counts, fsync of files and directories, and
// an atomic "write a small file" (temp file + fsync + rename + directory fsync) used for
// every piece of metadata that must survive kill -9.
//
// Thread-safety: a `file` may be shared (std::shared_ptr) between the event loop, which
// appends, and the flusher thread, which only calls sync(): pwrite/pread/fdatasync on one
// descriptor are safe concurrently at the kernel level. Closing happens when the last
// owner drops it, so a segment deleted by retention never pulls the descriptor out from
// under an in-flight fsync.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/log/result.h"

namespace eddy::broker::log {

class file {
 public:
  // Opens (creating when `create`) for reading and writing.
  static result<std::shared_ptr<file>> open(const std::filesystem::path& path, bool create);
  // Opens an existing file write-only with O_DIRECT (writes bypass the page cache; offsets,
  // lengths and buffer addresses must be multiples of direct_io_alignment). Fails where the
  // file system refuses O_DIRECT (tmpfs, for one): callers then write through the cache.
  static result<std::shared_ptr<file>> open_direct(const std::filesystem::path& path);
  // Opens the file `f` has open (the same inode, whatever it is called now: compaction
  // renames segment files) read-only with O_DIRECT (reads bypass the page cache; the same
  // alignment rules). Fails where the file system refuses O_DIRECT.
  static result<std::shared_ptr<file>> reopen_direct_read(const file& f);

  explicit file(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  ~file();
  file(const file&) = delete;
  file& operator=(const file&) = delete;

  int fd() const { return fd_; }
  const std::filesystem::path& path() const { return path_; }

  result<std::uint64_t> size() const;
  // Reads exactly data.size() bytes unless end of file comes first; returns bytes read.
  result<std::size_t> pread(std::span<std::uint8_t> data, std::uint64_t pos) const;
  // Writes all of `data` at `pos`.
  result<void> pwrite(std::span<const std::uint8_t> data, std::uint64_t pos);
  // Writes all of `parts`, back to back, at `pos` (one pwritev when the kernel takes it all).
  // `raw_errno`, when given, receives errno of a failed call (EINVAL: an O_DIRECT
  // alignment the file refuses).
  result<void> pwritev(std::span<const std::span<const std::uint8_t>> parts, std::uint64_t pos, int* raw_errno = nullptr);
  result<void> truncate(std::uint64_t size);
  // fdatasync: data and the size, which is all recovery needs.
  result<void> sync();

 private:
  int fd_;
  std::filesystem::path path_;
};

inline constexpr std::size_t direct_io_alignment = 4096;

// fsync of a directory, so that a created, renamed or removed entry is durable.
result<void> sync_directory(const std::filesystem::path& dir);

// Replaces `path` atomically with `contents`: write `path`.tmp, fsync, rename, fsync dir.
result<void> write_file_atomic(const std::filesystem::path& path, std::string_view contents);

// An index file (.index, .timeindex, .txnindex) opened for use. With `load`, `contents`
// holds the whole file, checked to be a whole number of `entry_size`-byte entries and at
// most `max_bytes` long (anything else is corrupt_message naming `what` and the path, so the
// caller rebuilds the index). Without `load` the file is emptied: the caller rebuilds it.
struct index_file {
  std::shared_ptr<file> handle;
  std::vector<std::uint8_t> contents;
};
result<index_file> open_index_file(const std::filesystem::path& path, bool load, std::size_t entry_size,
                                   std::uint64_t max_bytes, std::string_view what);

// Reads a whole small file; refuses files larger than `max_size` (corrupt or foreign).
result<std::string> read_small_file(const std::filesystem::path& path, std::size_t max_size);

// "00000000000000000123" for 123: Kafka's 20-digit file name stem.
std::string offset_file_stem(std::int64_t offset);

log_error io_error(const std::string& what, const std::filesystem::path& path, int err);

}  // namespace eddy::broker::log
