// Sparse offset index of one segment (`<base offset>.index`): maps a batch's offset to the
// byte position of that batch in the segment's .log file, one entry every
// index.interval.bytes of appended data. A lookup finds the last entry at or below the
// wanted offset; the caller then scans batch headers forward from that position, so the
// scan is bounded by about one index interval.
//
// On-disk layout: a flat array of 8-byte entries, big-endian, no header:
//    0  relative_offset  uint32   batch base offset - segment base offset
//    4  position         uint32   byte position of the batch in the .log file
// Entries are strictly increasing in both fields. The file is only appended to (one
// pwrite per entry); the whole index is also kept in memory for lookups. It is a cache:
// recovery rebuilds it from the .log when missing or inconsistent, so it is never fsynced
// for durability on its own (only on clean close and roll).
//
// Thread-safety: not thread-safe; owned by a segment on the broker's event-loop thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "broker/log/file.h"

namespace eddy::broker::log {

class offset_index {
 public:
  static constexpr std::size_t entry_size = 8;
  struct entry {
    std::uint32_t relative_offset;
    std::uint32_t position;
  };

  // Opens or creates the index file. With `load`, reads and checks the entries against
  // the .log size; an inconsistent file yields an error (the caller rebuilds).
  static result<offset_index> open(const std::filesystem::path& path, std::int64_t base_offset,
                                   std::uint64_t log_size, bool load);

  result<void> append(std::int64_t offset, std::uint64_t position);
  // Position of the last indexed batch whose offset <= `offset` (0 when none).
  std::uint64_t lookup(std::int64_t offset) const;
  // Drops everything (before a rebuild).
  result<void> reset();
  result<void> sync() { return file_->sync(); }
  std::shared_ptr<file> file_handle() const { return file_; }
  bool full(std::int64_t max_bytes) const { return std::int64_t((entries_.size() + 1) * entry_size) > max_bytes; }
  const std::vector<entry>& entries() const { return entries_; }
  const std::filesystem::path& path() const { return file_->path(); }

 private:
  std::shared_ptr<file> file_;
  std::int64_t base_offset_ = 0;
  std::vector<entry> entries_;
};

}  // namespace eddy::broker::log
