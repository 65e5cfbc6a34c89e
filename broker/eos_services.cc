// Composition of broker/group and broker/txn with the logs and the state log. Layouts of
// the files in <data dir>/eos/ are in eos_services.h.
#include "broker/eos_services.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "broker/broker.h"
#include "broker/group/group_coordinator.h"
#include "broker/log/log_manager.h"
#include "broker/server/fetch_waiters.h"
#include "broker/txn/producer_state.h"
#include "broker/txn/state_log.h"
#include "broker/txn/txn_coordinator.h"
#include "core/protocol/wire.h"
#include "core/record/control_record.h"
#include "core/record/crc32c.h"

namespace eddy::broker {

namespace fs = std::filesystem;
using protocol::error_code;
using topic_partition = std::pair<std::string, std::int32_t>;

namespace {
constexpr std::int8_t rec_txn = 1;
constexpr std::int8_t rec_offset = 2;
constexpr std::int8_t rec_group_delete = 3;
constexpr std::int8_t rec_producer_ids = 4;
constexpr std::uint64_t compact_threshold = 8u << 20;
constexpr std::int64_t snapshot_interval_ms = 30000;

std::vector<std::uint8_t> encode_offset(const std::string& group, const topic_partition& tp,
                                        const group::committed_offset& o) {
  protocol::bytes b;
  protocol::writer w(b);
  w.write_int8(rec_offset);
  w.write_string(group, false);
  w.write_string(tp.first, false);
  w.write_int32(tp.second);
  w.write_int64(o.offset);
  w.write_int32(o.leader_epoch);
  w.write_nullable_string(o.metadata, false);
  w.write_int64(o.commit_ms);
  return b;
}
}  // namespace

struct exactly_once_services::impl : txn::txn_environment {
  explicit impl(broker& b)
      : owner(b),
        groups({b.config().group_min_session_timeout_ms, b.config().group_max_session_timeout_ms,
                b.config().group_initial_rebalance_delay_ms}),
        txns(*this, {b.config().transaction_max_timeout_ms, 1000}) {}

  broker& owner;
  group::group_coordinator groups;
  txn::txn_coordinator txns;
  txn::state_log journal;
  std::uint64_t compacted_size = 0;
  std::map<topic_partition, txn::partition_producers> producers;
  bool producers_dirty = false;
  std::int64_t last_snapshot_ms = 0;
  fs::path dir;

  // ---- txn_environment ----
  bool persist(const txn::txn_metadata& m, bool sync) override {
    protocol::bytes b;
    protocol::writer w(b);
    txn::encode(w, m);
    return append(b, sync);
  }
  bool persist_producer_id_block(std::int64_t reserved_until) override {
    protocol::bytes b;
    protocol::writer w(b);
    w.write_int8(rec_producer_ids);
    w.write_int64(reserved_until);
    return append(b, true);
  }
  bool partition_exists(const topic_partition& tp) override {
    return owner.logs().partition(tp.first, tp.second) != nullptr;
  }
  error_code write_marker(const topic_partition& tp, const record::marker& m) override {
    auto* log = owner.logs().partition(tp.first, tp.second);
    if (log == nullptr) return error_code::unknown_topic_or_partition;
    auto& pp = producers[tp];
    // Idempotent: no open transaction of this producer here means the marker was already
    // written (recovery re-runs completions) or nothing was produced.
    if (!log->ongoing_transactions().contains(m.producer_id)) {
      pp.on_marker(m.producer_id, m.producer_epoch);
      return error_code::none;
    }
    auto batch = record::build_marker_batch(m);
    if (!batch) return batch.error().code;
    // Written now, not queued behind the transaction's data: the coordinator records the
    // transaction complete right after, and a marker lost to kill -9 after that would
    // leave the transaction open here forever.
    if (auto d = log->drain(); !d) return d.error().code;
    auto r = log->append(std::span<std::uint8_t>(batch.value()), owner.now_ms());
    if (!r) return r.error().code;
    pp.on_marker(m.producer_id, m.producer_epoch);
    producers_dirty = true;
    owner.waiters().notify();
    return error_code::none;
  }
  bool commit_offsets(const std::string& group_id, const txn::group_offsets& offsets) override {
    std::vector<offset_commit_entry> entries;
    for (const auto& [tp, o] : offsets) entries.push_back({tp.first, tp.second, o.offset, o.leader_epoch, o.metadata});
    return commit(group_id, entries);
  }

  bool commit(const std::string& group_id, const std::vector<offset_commit_entry>& entries) {
    const std::int64_t now = owner.now_ms();
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const auto& e = entries[i];
      group::committed_offset o{e.offset, e.leader_epoch, e.metadata, now};
      if (!append(encode_offset(group_id, {e.topic, e.partition}, o), i + 1 == entries.size())) return false;
    }
    for (const auto& e : entries)
      groups.apply_commit(group_id, {e.topic, e.partition}, {e.offset, e.leader_epoch, e.metadata, now});
    return true;
  }

  bool append(const std::vector<std::uint8_t>& payload, bool sync) {
    if (journal.append(payload, sync)) return true;
    std::fprintf(stderr, "eddy eos: %s\n", journal.error().c_str());
    return false;
  }

  // ---- state log replay and compaction ----
  std::optional<std::string> replay(const std::vector<std::vector<std::uint8_t>>& records) {
    for (const auto& rec : records) {
      try {
        protocol::reader r(rec.data(), rec.size());
        switch (r.read_int8()) {
          case rec_txn: txns.load(txn::decode_txn_metadata(r)); break;
          case rec_offset: {
            std::string g = r.read_string(false);
            std::string t = r.read_string(false);
            std::int32_t p = r.read_int32();
            group::committed_offset o;
            o.offset = r.read_int64();
            o.leader_epoch = r.read_int32();
            o.metadata = r.read_nullable_string(false);
            o.commit_ms = r.read_int64();
            groups.apply_commit(g, {t, p}, o);
            break;
          }
          case rec_group_delete: groups.remove(r.read_string(false)); break;
          case rec_producer_ids: txns.load_producer_id_block(r.read_int64()); break;
          default: return "unknown record type";
        }
      } catch (const protocol::decode_error& e) {
        return e.what();
      }
    }
    return std::nullopt;
  }

  bool compact() {
    std::vector<std::vector<std::uint8_t>> live;
    {
      protocol::bytes b;
      protocol::writer w(b);
      w.write_int8(rec_producer_ids);
      w.write_int64(txns.producer_id_reserved_until());
      live.push_back(std::move(b));
    }
    for (const auto& [id, m] : txns.transactions()) {
      protocol::bytes b;
      protocol::writer w(b);
      txn::encode(w, m);
      live.push_back(std::move(b));
    }
    for (const auto& [gid, _] : groups.list())
      if (const auto* offs = groups.offsets(gid))
        for (const auto& [tp, o] : *offs) live.push_back(encode_offset(gid, tp, o));
    if (!journal.rewrite(live)) {
      std::fprintf(stderr, "eddy eos: compaction failed: %s\n", journal.error().c_str());
      return false;
    }
    compacted_size = journal.size_bytes();
    return true;
  }

  // ---- producer state snapshot ----
  fs::path snapshot_path() const { return dir / "producers.snapshot"; }

  void write_snapshot() {
    protocol::bytes b;
    protocol::writer w(b);
    w.write_int32(1);
    // Every partition, those without idempotent producers too: the next start then
    // replays only what was appended after this snapshot.
    const auto topics = owner.logs().list_topics();
    std::int32_t n = 0;
    for (const auto& t : topics) n += t.partition_count;
    w.write_int32(n);
    const txn::partition_producers none;
    for (const auto& t : topics) {
      for (std::int32_t p = 0; p < t.partition_count; ++p) {
        auto* log = owner.logs().partition(t.name, p);
        auto it = producers.find({t.name, p});
        w.write_string(t.name, false);
        w.write_int32(p);
        w.write_int64(log ? log->log_end_offset() : 0);
        (it == producers.end() ? none : it->second).encode(w);
      }
    }
    w.write_uint32(record::crc32c(b.data(), b.size()));
    auto tmp = snapshot_path();
    tmp += ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
      if (!out) return;
    }
    // No fsync needed: a lost or torn snapshot only means replaying more of the log.
    std::error_code ec;
    fs::rename(tmp, snapshot_path(), ec);
    producers_dirty = false;
  }

  // Snapshot entries: partition -> (log end offset at snapshot, producers).
  std::map<topic_partition, std::pair<std::int64_t, txn::partition_producers>> read_snapshot() {
    std::map<topic_partition, std::pair<std::int64_t, txn::partition_producers>> out;
    std::ifstream in(snapshot_path(), std::ios::binary);
    if (!in) return out;
    std::vector<std::uint8_t> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (b.size() < 12) return out;
    if (record::crc32c(b.data(), b.size() - 4) != record::be::load32(b.data() + b.size() - 4)) return out;
    try {
      protocol::reader r(b.data(), b.size() - 4);
      if (r.read_int32() != 1) return {};
      std::int32_t n = r.read_int32();
      for (std::int32_t i = 0; i < n; ++i) {
        std::string t = r.read_string(false);
        std::int32_t p = r.read_int32();
        std::int64_t end = r.read_int64();
        txn::partition_producers pp;
        pp.decode(r);
        out[{t, p}] = {end, std::move(pp)};
      }
    } catch (const protocol::decode_error&) {
      return {};
    }
    return out;
  }

  std::optional<std::string> rebuild_producers() {
    auto snap = read_snapshot();
    for (const auto& t : owner.logs().list_topics())
      for (std::int32_t p = 0; p < t.partition_count; ++p)
        if (auto err = rebuild_partition(snap, {t.name, p})) return err;
    return std::nullopt;
  }

  // One partition's producer state from the snapshot entry when it still fits the log
  // (its offset within the log), else from the log start; then the log after it.
  std::optional<std::string> rebuild_partition(
      std::map<topic_partition, std::pair<std::int64_t, txn::partition_producers>>& snap, const topic_partition& tp) {
    auto* log = owner.logs().partition(tp.first, tp.second);
    producers.erase(tp);
    if (log == nullptr) return std::nullopt;
    txn::partition_producers pp;
    std::int64_t from = log->log_start_offset();
    auto s = snap.find(tp);
    if (s != snap.end() && s->second.first <= log->log_end_offset() && s->second.first >= from) {
      pp = std::move(s->second.second);
      from = s->second.first;
    }
    // Headers only: the producer state needs nothing from the records.
    auto r = log->for_each_batch_header(from, [&](const log::batch_info& b) { pp.replay(b); });
    if (!r) return fmt::format("cannot replay {}-{} for producer state: {}", tp.first, tp.second, r.error().message);
    if (!pp.entries().empty()) producers[tp] = std::move(pp);
    return std::nullopt;
  }
};

exactly_once_services::exactly_once_services(broker& b) : owner(b), impl_(std::make_unique<impl>(b)) {}
exactly_once_services::~exactly_once_services() = default;

group::group_coordinator& exactly_once_services::groups() { return impl_->groups; }
txn::txn_coordinator& exactly_once_services::transactions() { return impl_->txns; }

std::optional<std::string> exactly_once_services::open() {
  impl_->dir = fs::path(owner.config().data_dir) / "eos";
  std::error_code ec;
  fs::create_directories(impl_->dir, ec);
  if (ec) return fmt::format("cannot create {}: {}", impl_->dir.string(), ec.message());
  auto records = impl_->journal.open(impl_->dir / "state.log");
  if (!records) return impl_->journal.error() + " (the coordinators' state; check permissions and disk)";
  if (auto err = impl_->replay(*records))
    return fmt::format("{} is corrupt ({}); restore it from a backup", (impl_->dir / "state.log").string(), *err);
  if (auto err = impl_->rebuild_producers()) return err;
  const std::int64_t now = owner.now_ms();
  // Transactions caught in PrepareCommit/PrepareAbort are rolled forward now.
  impl_->txns.recover(now);
  if (!impl_->compact()) return "cannot compact " + (impl_->dir / "state.log").string() + ": " + impl_->journal.error();
  impl_->last_snapshot_ms = now;
  return std::nullopt;
}

void exactly_once_services::tick(std::int64_t now_ms) {
  impl_->groups.tick(now_ms);
  impl_->txns.tick(now_ms);
  if (impl_->journal.size_bytes() > compact_threshold && impl_->journal.size_bytes() > 2 * impl_->compacted_size)
    impl_->compact();
  // Also when no producer changed: the snapshot's log end offsets bound the replay at start.
  if (now_ms - impl_->last_snapshot_ms >= snapshot_interval_ms) {
    impl_->write_snapshot();
    impl_->last_snapshot_ms = now_ms;
  }
}

void exactly_once_services::partition_reopened(const std::string& topic, std::int32_t partition) {
  // As at a start: the state in memory may count batches that were appended but never
  // written (a retry of one must be appended again, not answered as a duplicate).
  auto snap = impl_->read_snapshot();
  if (auto err = impl_->rebuild_partition(snap, {topic, partition}))
    std::fprintf(stderr, "eddy eos: %s; its producers start afresh\n", err->c_str());
}

void exactly_once_services::close() {
  impl_->write_snapshot();
  impl_->journal.close();
}

sequence_check exactly_once_services::check_produce(const std::string& topic, std::int32_t partition,
                                                    record::batch_header_view batch,
                                                    const std::optional<std::string>& transactional_id) {
  if (batch.producer_id() < 0) return {};
  auto& pp = impl_->producers[{topic, partition}];
  auto v = pp.check(batch);
  if (v.error != error_code::none || v.duplicate_base_offset) return {v.error, v.duplicate_base_offset};
  if (batch.is_transactional()) {
    auto e = impl_->txns.check_transactional_write(transactional_id, batch.producer_id(), batch.producer_epoch(),
                                                   {topic, partition});
    if (e != error_code::none) return {e, std::nullopt};
  }
  return {};
}

void exactly_once_services::on_appended(const std::string& topic, std::int32_t partition,
                                        record::batch_header_view batch, std::int64_t base_offset) {
  if (batch.producer_id() < 0) return;
  auto& pp = impl_->producers[{topic, partition}];
  if (batch.is_control()) {
    pp.on_marker(batch.producer_id(), batch.producer_epoch());
  } else {
    pp.on_append(batch.producer_id(), batch.producer_epoch(), batch.base_sequence(),
                 txn::last_sequence(batch.base_sequence(), batch.last_offset_delta()), base_offset,
                 base_offset + batch.last_offset_delta());
  }
  impl_->producers_dirty = true;
}

bool exactly_once_services::commit_offsets(const std::string& group_id,
                                           const std::vector<offset_commit_entry>& entries) {
  return impl_->commit(group_id, entries);
}

error_code exactly_once_services::delete_group(const std::string& group_id) {
  auto e = impl_->groups.can_delete(group_id);
  if (e != error_code::none) return e;
  protocol::bytes b;
  protocol::writer w(b);
  w.write_int8(rec_group_delete);
  w.write_string(group_id, false);
  if (!impl_->append(b, true)) return error_code::coordinator_not_available;
  impl_->groups.remove(group_id);
  return error_code::none;
}

}  // namespace eddy::broker
