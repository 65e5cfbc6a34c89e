// store_stack: one task's instance of a declared store, assembled from its layers:
//   (typed view, in the public header) -> logging -> staging -> committed (RocksDB or memory).
// The logging layer sends every write to the store's changelog partition (= task partition)
// through the task's record sink, in the same transaction as the outputs it caused.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "eddy/streams/detail/graph.h"
#include "streams/state/committed_store.h"
#include "streams/state/staged_store.h"

namespace eddy::streams::state {

// Sends a changelog record: (topic, partition, key, value or nullopt for a tombstone, timestamp).
using changelog_writer = std::function<void(const std::string& topic, int32_t partition, std::string_view key,
                                            std::optional<std::string_view> value, int64_t timestamp)>;

class store_stack final : public kv_bytes_store {
 public:
  store_stack(detail::store_spec spec, std::unique_ptr<committed_store> base, std::string changelog_topic,
              int32_t partition, changelog_writer writer, std::function<int64_t()> timestamp);

  std::optional<std::string> get(std::string_view key) override { return staged_.get(key); }
  void put(std::string_view key, std::optional<std::string_view> value) override;
  void range(std::optional<std::string_view> from, std::optional<std::string_view> to,
             const std::function<bool(std::string_view, std::string_view)>& visit) override {
    staged_.range(from, to, visit);
  }
  int64_t approximate_num_entries() override { return staged_.approximate_num_entries(); }

  // When a commit starts: the open transaction's writes are set aside (sealed); later writes
  // belong to the next transaction.
  void seal() { staged_.seal(); }
  // After the commit succeeded: the sealed writes are committed with the last changelog offset
  // written (or -1 when no changelog record was written in that transaction). Persistent stores
  // apply committed writes to RocksDB every few commits (see staged_store).
  void commit_sealed(int64_t changelog_offset) { staged_.commit_sealed(changelog_offset); }
  // Drops the open and the sealed transaction's writes.
  void abort() { staged_.abort(); }
  // Applies committed writes held in memory to the committed store (before closing, suspending
  // or restoring).
  void flush() { staged_.flush(); }

  const detail::store_spec& spec() const { return spec_; }
  const std::string& changelog_topic() const { return changelog_; }  // empty if not logged
  int32_t partition() const { return partition_; }
  // The committed layer alone: call flush() first to include committed writes held in memory.
  committed_store& committed() { return *base_; }

  // Persistent stores defer applying committed writes to RocksDB: every kApplyEveryCommits
  // commits (about 1 s at the exactly-once default commit.interval.ms of 100) or once
  // kMaxUnappliedBytes are held, whichever comes first. A crash in between costs replaying that
  // much more changelog on restart.
  static constexpr int kApplyEveryCommits = 10;
  static constexpr size_t kMaxUnappliedBytes = 4 << 20;

 private:
  detail::store_spec spec_;
  std::unique_ptr<committed_store> base_;
  staged_store staged_;
  std::string changelog_;
  int32_t partition_;
  changelog_writer writer_;
  std::function<int64_t()> timestamp_;
};

}  // namespace eddy::streams::state
