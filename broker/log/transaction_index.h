// Aborted-transaction index of one segment (`<base offset>.txnindex`): one entry per
// ABORT marker written into this segment whose producer had data in the partition. Fetch
// in read_committed mode returns the (producer id, first offset) of every aborted
// transaction overlapping the fetched range so the client can drop those records.
//
// On-disk layout: a flat array of 32-byte entries, big-endian, no header, in marker order:
//    0  producer_id         int64
//    8  first_offset        int64   first offset of the transaction's data in this partition
//   16  last_offset         int64   offset of the ABORT marker
//   24  last_stable_offset  int64   the partition's LSO just after the marker: every later
//                                   entry has first_offset >= this, which bounds searches
// Rebuilt by recovery together with the ongoing-transaction table when unclean.
//
// Thread-safety: not thread-safe; owned by a segment on the event-loop thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "broker/log/file.h"

namespace eddy::broker::log {

struct aborted_txn {
  std::int64_t producer_id;
  std::int64_t first_offset;
  std::int64_t last_offset;
  std::int64_t last_stable_offset;
  bool operator==(const aborted_txn&) const = default;
};

class transaction_index {
 public:
  static constexpr std::size_t entry_size = 32;

  static result<transaction_index> open(const std::filesystem::path& path, bool load);
  result<void> append(const aborted_txn& e);
  result<void> reset();
  result<void> sync() { return file_->sync(); }
  std::shared_ptr<file> file_handle() const { return file_; }
  const std::vector<aborted_txn>& entries() const { return entries_; }

 private:
  std::shared_ptr<file> file_;
  std::vector<aborted_txn> entries_;
};

}  // namespace eddy::broker::log
