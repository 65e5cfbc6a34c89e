#include "streams/state/rocksdb_store.h"

#include <filesystem>
#include <stdexcept>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "eddy/streams/serdes.h"

namespace eddy::streams::state {
namespace {
constexpr const char* kOffsetKey = "changelog-offset";
}

std::unique_ptr<rocksdb_store> rocksdb_store::open(const std::string& dir, std::string& error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  rocksdb::Options opts;
  opts.create_if_missing = true;
  opts.create_missing_column_families = true;
  opts.max_open_files = 64;
  // Recovery time after a crash must not grow with the state: opening replays the WAL not yet
  // flushed to SST files, so bound it. Small memtables (4 MB, RocksDB's default is 64 MB) and
  // a WAL cap (the meta column family gets one tiny write per commit and would otherwise pin
  // old WAL files) keep the replay to a few MB per store, about 0.1 s; the recovered memtable
  // is not flushed during open (it is flushed later, when full, in the background).
  opts.max_total_wal_size = 8 << 20;
  opts.avoid_flush_during_recovery = true;
  rocksdb::ColumnFamilyOptions data_opts;
  data_opts.write_buffer_size = 4 << 20;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, data_opts},
      {"eddy-meta", rocksdb::ColumnFamilyOptions()}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  auto st = rocksdb::DB::Open(opts, dir, cfs, &handles, &db);
  if (!st.ok()) {
    error = "cannot open state store at " + dir + ": " + st.ToString() +
            " (another instance using the same state.dir? give each instance its own state.dir)";
    return nullptr;
  }
  std::unique_ptr<rocksdb_store> s(new rocksdb_store());
  s->db_ = db;
  s->data_ = handles[0];
  s->meta_ = handles[1];
  std::string v;
  if (db->Get(rocksdb::ReadOptions(), s->meta_, kOffsetKey, &v).ok() && v.size() == 8)
    s->offset_ = serdes::int64().deserialize(v);
  return s;
}

rocksdb_store::~rocksdb_store() {
  if (!db_) return;
  db_->DestroyColumnFamilyHandle(data_);
  db_->DestroyColumnFamilyHandle(meta_);
  delete db_;
}

namespace {
constexpr size_t kEntryOverhead = 64;  // rough per-entry cost of the cache's node and strings
}

std::optional<std::string> rocksdb_store::get(std::string_view key) {
  if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  std::string v;
  auto st = db_->Get(rocksdb::ReadOptions(), data_, rocksdb::Slice(key.data(), key.size()), &v);
  if (st.IsNotFound()) return std::nullopt;
  if (!st.ok()) throw std::runtime_error("rocksdb get: " + st.ToString());
  size_t bytes = key.size() + v.size() + kEntryOverhead;
  if (cache_bytes_ + bytes > kCacheBytes) {
    cache_.clear();
    cache_bytes_ = 0;
  }
  cache_.emplace(std::string(key), v);
  cache_bytes_ += bytes;
  return v;
}

void rocksdb_store::range(std::optional<std::string_view> from, std::optional<std::string_view> to,
                          const std::function<bool(std::string_view, std::string_view)>& visit) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), data_));
  if (from) it->Seek(rocksdb::Slice(from->data(), from->size()));
  else it->SeekToFirst();
  for (; it->Valid(); it->Next()) {
    std::string_view k(it->key().data(), it->key().size());
    if (to && k >= *to) break;
    if (!visit(k, std::string_view(it->value().data(), it->value().size()))) break;
  }
}

int64_t rocksdb_store::approximate_num_entries() {
  uint64_t n = 0;
  db_->GetIntProperty(data_, "rocksdb.estimate-num-keys", &n);
  return static_cast<int64_t>(n);
}

void rocksdb_store::apply(const write_batch& writes, int64_t changelog_offset) {
  rocksdb::WriteBatch batch;
  for (auto& [k, v] : writes) {
    if (v) batch.Put(data_, k, *v);
    else batch.Delete(data_, k);
  }
  if (changelog_offset >= 0) batch.Put(meta_, kOffsetKey, serdes::int64().serialize(changelog_offset));
  auto st = db_->Write(rocksdb::WriteOptions(), &batch);
  if (!st.ok()) {
    cache_.clear();  // what was written is unknown
    cache_bytes_ = 0;
    throw std::runtime_error("rocksdb write: " + st.ToString());
  }
  // Keep the read cache equal to the committed data for every key it holds.
  for (auto& [k, v] : writes) {
    auto it = cache_.find(std::string_view(k));
    if (it == cache_.end()) continue;
    cache_bytes_ -= it->first.size() + it->second.size() + kEntryOverhead;
    if (v) {
      it->second = *v;
      cache_bytes_ += it->first.size() + it->second.size() + kEntryOverhead;
    } else {
      cache_.erase(it);
    }
  }
  if (changelog_offset >= 0) offset_ = changelog_offset;
}

}  // namespace eddy::streams::state
