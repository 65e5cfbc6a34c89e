// rocksdb_store: a committed store in a RocksDB database (one per store per task, in
// <state.dir>/<application.id>/<task>/<store>).
//
// Layout: the data in the default column family; the changelog offset under the key
// "changelog-offset" (8 bytes big-endian) in the "eddy-meta" column family, written in the
// same WriteBatch as the data it describes. The WAL stays on, so a kill -9 after apply()
// returns loses nothing; a kill -9 before it leaves the previous consistent state.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "streams/state/committed_store.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace eddy::streams::state {

class rocksdb_store final : public committed_store {
 public:
  // Opens (creating if needed) the database at dir; on failure error is set and the store unusable.
  static std::unique_ptr<rocksdb_store> open(const std::string& dir, std::string& error);
  ~rocksdb_store() override;

  std::optional<std::string> get(std::string_view key) override;
  void range(std::optional<std::string_view> from, std::optional<std::string_view> to,
             const std::function<bool(std::string_view, std::string_view)>& visit) override;
  int64_t approximate_num_entries() override;
  void apply(const write_batch& writes, int64_t changelog_offset) override;
  int64_t changelog_offset() const override { return offset_; }

 private:
  rocksdb_store() = default;
  rocksdb::DB* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* data_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  int64_t offset_ = -1;

  // Read cache of committed values. Under exactly-once the staging layer is emptied into RocksDB
  // at every commit (100 ms), so a hot key (a word count updated thousands of times a second)
  // was read back from RocksDB's memtable and L0 files for almost every record. Holds values
  // found by get(); apply() keeps it coherent (updates or drops every key it writes), so it is
  // always a subset of the committed data. Cleared when it outgrows kCacheBytes.
  struct hash : std::hash<std::string_view> {
    using is_transparent = void;
  };
  static constexpr size_t kCacheBytes = 4 << 20;
  std::unordered_map<std::string, std::string, hash, std::equal_to<>> cache_;
  size_t cache_bytes_ = 0;
};

}  // namespace eddy::streams::state
