// state_log: a small append-only file of CRC-checked records, for the coordinators'
// durable metadata (committed offsets, transaction states, producer-id blocks).
//
// Byte layout, records back to back (big-endian):
//   u32 length   payload bytes
//   u32 crc      CRC-32C of the payload
//   payload      opaque to this class
// open() reads every record up to the first torn or corrupt one and truncates the file
// there (a kill -9 during an append leaves at most one torn record at the tail, which was
// never acknowledged). rewrite() replaces the whole file with a snapshot of live records:
// written to "<name>.tmp", fsynced, renamed over, and the directory fsynced, so a crash
// leaves either the old or the new file.
//
// Thread-safety: not thread-safe (event-loop thread).
//
// Example:
//   state_log s;
//   auto records = s.open("/data/eos/state.log");   // std::nullopt + error() on failure
//   s.append(bytes, /*sync=*/true);
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace eddy::broker::txn {

class state_log {
 public:
  state_log() = default;
  ~state_log();
  state_log(const state_log&) = delete;
  state_log& operator=(const state_log&) = delete;

  // Opens (creating if absent) and returns every valid record; nullopt on I/O error.
  std::optional<std::vector<std::vector<std::uint8_t>>> open(const std::filesystem::path& path);
  // Appends one record; fdatasync when `sync`. False on I/O error (message in error()).
  bool append(std::span<const std::uint8_t> payload, bool sync);
  // Atomically replaces the file's content with `records`.
  bool rewrite(const std::vector<std::vector<std::uint8_t>>& records);
  void close();

  std::uint64_t size_bytes() const { return size_; }
  // Bytes cut off a torn or corrupt tail by the last open().
  std::uint64_t truncated_bytes() const { return truncated_; }
  const std::string& error() const { return error_; }

 private:
  bool fail(const std::string& what);

  std::filesystem::path path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::uint64_t truncated_ = 0;
  std::string error_;
};

}  // namespace eddy::broker::txn
