// Walks the batches of a .log file from a byte position: headers only (reads, index
// lookups) or with full validation (recovery: magic, lengths, offsets, CRC-32C). Reads go
// through a 64 KiB buffer so a scan costs a few syscalls per index interval, and a lying
// batch length never causes an allocation: CRCs are computed incrementally chunk by chunk.
//
// .log layout: batches back to back, each exactly as on the wire (see
// core/record/batch_header.h), with base_offset rewritten by the log. No file header.
//
// Thread-safety: a scanner is a short-lived local object; the file it reads may be
// appended to concurrently only past `end`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "broker/log/file.h"

namespace eddy::broker::log {

// What the log needs to know about a stored batch, read from its header.
struct batch_info {
  std::uint64_t position = 0;  // in the .log file
  std::uint32_t size = 0;      // whole batch, header included
  std::int64_t base_offset = 0;
  std::int64_t last_offset = 0;
  std::int64_t max_timestamp = -1;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::int32_t base_sequence = -1;
  std::int16_t attributes = 0;
  // For control batches: 0 abort, 1 commit, -1 unknown or not a control batch.
  std::int8_t control_type = -1;

  bool is_transactional() const { return attributes & 0x10; }
  bool is_control() const { return attributes & 0x20; }
};

// Reads the marker type of a control batch held in memory: the key of its first record
// is int16 version + int16 type (0 abort, 1 commit). Returns -1 when it cannot tell.
std::int8_t control_marker_type(const std::uint8_t* batch, std::size_t size);

class batch_scanner {
 public:
  enum class status { batch, end, corrupt };
  struct step {
    status st = status::end;
    batch_info info;
    std::string reason;  // for corrupt
  };

  // Scans [start, end) of `f`.
  batch_scanner(const file& f, std::uint64_t start, std::uint64_t end) : f_(f), pos_(start), end_(end) {}

  // The next batch. `verify` checks the CRC and that base offsets are >= `min_offset`
  // (the previous batch's last offset + 1); without it only lengths are checked, which
  // is enough to walk a file already validated at startup.
  result<step> next(bool verify, std::int64_t min_offset = 0);
  std::uint64_t position() const { return pos_; }

 private:
  // Makes [pos, pos + n) available in buf_ (n <= buffer size) and returns it.
  result<const std::uint8_t*> view(std::uint64_t pos, std::size_t n);

  const file& f_;
  std::uint64_t pos_;
  std::uint64_t end_;
  std::vector<std::uint8_t> buf_;
  std::uint64_t buf_pos_ = 0;
};

}  // namespace eddy::broker::log
