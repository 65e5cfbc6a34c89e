// Sparse time index of one segment (`<base offset>.timeindex`), for ListOffsets by
// timestamp and time-based retention. An entry is added when an offset-index entry is
// added and the segment's max timestamp grew since the last time entry, plus a final
// entry for the segment's max timestamp when it is rolled or closed, so the last entry
// always gives the segment's largest timestamp after a clean close.
//
// On-disk layout: a flat array of 12-byte entries, big-endian, no header:
//    0  timestamp        int64    largest batch max_timestamp seen up to this batch
//    8  relative_offset  uint32   base offset of that batch - segment base offset
// Timestamps and offsets are non-decreasing. Like the offset index, this is a cache
// rebuilt from the .log by recovery.
//
// Thread-safety: not thread-safe; owned by a segment on the event-loop thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "broker/log/file.h"

namespace eddy::broker::log {

class time_index {
 public:
  static constexpr std::size_t entry_size = 12;
  struct entry {
    std::int64_t timestamp;
    std::uint32_t relative_offset;
  };

  static result<time_index> open(const std::filesystem::path& path, std::int64_t base_offset, bool load);

  // Appends when `timestamp` is larger than the last entry's.
  result<void> maybe_append(std::int64_t timestamp, std::int64_t offset);
  // Offset of the last entry whose timestamp is < `timestamp`: every batch up to and
  // including that offset has max_timestamp < `timestamp`, so a search may start there.
  std::optional<std::int64_t> last_offset_before(std::int64_t timestamp) const;
  std::int64_t max_timestamp() const { return entries_.empty() ? -1 : entries_.back().timestamp; }
  result<void> reset();
  result<void> sync() { return file_->sync(); }
  std::shared_ptr<file> file_handle() const { return file_; }
  const std::vector<entry>& entries() const { return entries_; }

 private:
  std::shared_ptr<file> file_;
  std::int64_t base_offset_ = 0;
  std::vector<entry> entries_;
};

}  // namespace eddy::broker::log
