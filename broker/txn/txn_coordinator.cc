#include "broker/txn/txn_coordinator.h"

#include <algorithm>
#include <limits>

namespace eddy::broker::txn {

using protocol::error_code;

namespace {
constexpr std::int16_t max_epoch = std::numeric_limits<std::int16_t>::max();
bool is_prepare(txn_state s) { return s == txn_state::prepare_commit || s == txn_state::prepare_abort; }
}  // namespace

void txn_coordinator::load(txn_metadata m) {
  std::string id = m.transactional_id;
  txns_[id] = std::move(m);
}

void txn_coordinator::load_producer_id_block(std::int64_t reserved_until) {
  reserved_until_ = std::max(reserved_until_, reserved_until);
  // Ids of the last reserved block may have been handed out before the crash: skip it.
  next_producer_id_ = reserved_until_;
}

void txn_coordinator::recover(std::int64_t now_ms) {
  for (auto& [id, m] : txns_)
    if (is_prepare(m.state)) complete(m, now_ms);
}

const txn_metadata* txn_coordinator::find(const std::string& transactional_id) const {
  auto it = txns_.find(transactional_id);
  return it == txns_.end() ? nullptr : &it->second;
}

bool txn_coordinator::persist(const txn_metadata& m, bool sync) { return env_.persist(m, sync); }

std::optional<std::int64_t> txn_coordinator::allocate_producer_id() {
  if (next_producer_id_ >= reserved_until_) {
    std::int64_t until = next_producer_id_ + config_.producer_id_block;
    if (!env_.persist_producer_id_block(until)) return std::nullopt;
    reserved_until_ = until;
  }
  return next_producer_id_++;
}

error_code txn_coordinator::validate(const txn_metadata* m, std::int64_t producer_id, std::int16_t epoch) const {
  if (m == nullptr || m->producer_id != producer_id) return error_code::invalid_producer_id_mapping;
  if (epoch != m->producer_epoch) return error_code::producer_fenced;
  return error_code::none;
}

bool txn_coordinator::bump_epoch(txn_metadata& m) {
  m.last_producer_id = m.producer_id;
  m.last_producer_epoch = m.producer_epoch;
  if (m.producer_epoch >= max_epoch - 1) {
    // Epoch exhausted: continue under a fresh producer id.
    auto pid = allocate_producer_id();
    if (!pid) return false;
    m.producer_id = *pid;
    m.producer_epoch = 0;
  } else {
    ++m.producer_epoch;
  }
  return true;
}

init_producer_result txn_coordinator::init_producer_id(const std::optional<std::string>& transactional_id,
                                                       std::int32_t timeout_ms, std::int64_t producer_id,
                                                       std::int16_t producer_epoch, std::int64_t now_ms) {
  if (!transactional_id || transactional_id->empty()) {
    // Idempotent producer: always a fresh id (a KIP-360 bump starts a new sequence space anyway).
    auto pid = allocate_producer_id();
    if (!pid) return {error_code::coordinator_not_available};
    return {error_code::none, *pid, 0};
  }
  if (timeout_ms <= 0 || timeout_ms > config_.max_timeout_ms) return {error_code::invalid_transaction_timeout};
  auto it = txns_.find(*transactional_id);
  if (it == txns_.end()) {
    if (producer_id != -1) return {error_code::invalid_producer_id_mapping};
    auto pid = allocate_producer_id();
    if (!pid) return {error_code::coordinator_not_available};
    txn_metadata m;
    m.transactional_id = *transactional_id;
    m.producer_id = *pid;
    m.producer_epoch = 0;
    m.timeout_ms = timeout_ms;
    if (!persist(m, true)) return {error_code::coordinator_not_available};
    txns_[*transactional_id] = m;
    return {error_code::none, m.producer_id, m.producer_epoch};
  }
  txn_metadata& cur = it->second;
  if (is_prepare(cur.state) && !complete(cur, now_ms)) return {error_code::concurrent_transactions};

  // KIP-360: a producer passing its id and epoch may only bump its own current epoch, or
  // retry a bump whose answer it lost.
  bool retry_of_last_bump = false;
  if (producer_id != -1) {
    if (producer_id == cur.producer_id && producer_epoch == cur.producer_epoch) {
      // a regular bump
    } else if (producer_id == cur.producer_id && producer_epoch == cur.last_producer_epoch) {
      retry_of_last_bump = true;
    } else if (producer_id == cur.last_producer_id && producer_epoch == cur.last_producer_epoch) {
      retry_of_last_bump = true;
    } else {
      return {error_code::producer_fenced};
    }
  }

  if (cur.state == txn_state::ongoing) {
    // Fence the previous instance: bump the epoch and abort its transaction with markers
    // carrying the new epoch. The markers are local, so the abort is normally complete here:
    // answer as the client's retry would be answered, sparing it the retry (librdkafka waits
    // 500 ms, which a restarted streams instance would spend idle). If the abort could not
    // complete, it stays in PrepareAbort and the client retries on CONCURRENT_TRANSACTIONS.
    txn_metadata m = cur;
    m.last_producer_id = m.producer_id;
    m.last_producer_epoch = m.producer_epoch;
    m.producer_epoch = std::int16_t(std::min<int>(m.producer_epoch + 1, max_epoch));
    begin_end(m, false, now_ms);
    if (cur.state != txn_state::complete_abort) return {error_code::concurrent_transactions};
    // A producer passing its id and epoch asked for this very bump (its retry would match
    // last_producer_epoch); a new instance gets a further bump, as on its retry.
    if (producer_id != -1) return {error_code::none, cur.producer_id, cur.producer_epoch};
  }
  if (retry_of_last_bump) return {error_code::none, cur.producer_id, cur.producer_epoch};

  txn_metadata m = cur;
  if (!bump_epoch(m)) return {error_code::coordinator_not_available};
  m.timeout_ms = timeout_ms;
  m.state = txn_state::empty;
  m.partitions.clear();
  m.offsets.clear();
  m.start_ms = -1;
  if (!persist(m, true)) return {error_code::coordinator_not_available};
  cur = m;
  return {error_code::none, m.producer_id, m.producer_epoch};
}

std::map<topic_partition, error_code> txn_coordinator::add_partitions(const std::string& transactional_id,
                                                                      std::int64_t producer_id, std::int16_t epoch,
                                                                      const std::vector<topic_partition>& partitions,
                                                                      std::int64_t now_ms) {
  std::map<topic_partition, error_code> out;
  auto all = [&](error_code e) {
    for (const auto& tp : partitions) out[tp] = e;
    return out;
  };
  auto it = txns_.find(transactional_id);
  if (auto e = validate(it == txns_.end() ? nullptr : &it->second, producer_id, epoch); e != error_code::none)
    return all(e);
  txn_metadata& cur = it->second;
  if (is_prepare(cur.state) && !complete(cur, now_ms)) return all(error_code::concurrent_transactions);
  bool unknown = false;
  for (const auto& tp : partitions)
    if (!env_.partition_exists(tp)) unknown = true;
  if (unknown) {
    for (const auto& tp : partitions)
      out[tp] = env_.partition_exists(tp) ? error_code::operation_not_attempted : error_code::unknown_topic_or_partition;
    return out;
  }
  txn_metadata m = cur;
  if (m.state != txn_state::ongoing) {
    m.state = txn_state::ongoing;
    m.start_ms = now_ms;
    m.partitions.clear();
    m.offsets.clear();
  }
  bool changed = m.state != cur.state;
  for (const auto& tp : partitions) changed |= m.partitions.insert(tp).second;
  // Synced: a partition written to but not recorded would hold its LSO back forever.
  if (changed && !persist(m, true)) return all(error_code::coordinator_not_available);
  cur = std::move(m);
  return all(error_code::none);
}

error_code txn_coordinator::add_offsets(const std::string& transactional_id, std::int64_t producer_id,
                                        std::int16_t epoch, const std::string& group_id, std::int64_t now_ms) {
  auto it = txns_.find(transactional_id);
  if (auto e = validate(it == txns_.end() ? nullptr : &it->second, producer_id, epoch); e != error_code::none) return e;
  if (group_id.empty()) return error_code::invalid_group_id;
  txn_metadata& cur = it->second;
  if (is_prepare(cur.state) && !complete(cur, now_ms)) return error_code::concurrent_transactions;
  txn_metadata m = cur;
  if (m.state != txn_state::ongoing) {
    m.state = txn_state::ongoing;
    m.start_ms = now_ms;
    m.partitions.clear();
    m.offsets.clear();
  }
  bool changed = m.state != cur.state || !m.offsets.contains(group_id);
  m.offsets[group_id];
  if (changed && !persist(m, true)) return error_code::coordinator_not_available;
  cur = std::move(m);
  return error_code::none;
}

error_code txn_coordinator::check_offset_commit(const std::string& transactional_id, std::int64_t producer_id,
                                                std::int16_t epoch, const std::string& group_id) const {
  const txn_metadata* m = find(transactional_id);
  if (auto e = validate(m, producer_id, epoch); e != error_code::none) return e;
  if (is_prepare(m->state)) return error_code::concurrent_transactions;
  if (m->state != txn_state::ongoing || !m->offsets.contains(group_id)) return error_code::invalid_txn_state;
  return error_code::none;
}

error_code txn_coordinator::stage_offsets(const std::string& transactional_id, const std::string& group_id,
                                          const group_offsets& offsets) {
  auto it = txns_.find(transactional_id);
  if (it == txns_.end()) return error_code::invalid_producer_id_mapping;
  txn_metadata m = it->second;
  auto& staged = m.offsets[group_id];
  for (const auto& [tp, o] : offsets) staged[tp] = o;
  // Synced: the client treats the acknowledged offsets as part of the transaction.
  if (!persist(m, true)) return error_code::coordinator_not_available;
  it->second = std::move(m);
  return error_code::none;
}

error_code txn_coordinator::end_txn(const std::string& transactional_id, std::int64_t producer_id, std::int16_t epoch,
                                    bool commit, std::int64_t now_ms) {
  auto it = txns_.find(transactional_id);
  if (auto e = validate(it == txns_.end() ? nullptr : &it->second, producer_id, epoch); e != error_code::none) return e;
  txn_metadata& cur = it->second;
  switch (cur.state) {
    case txn_state::ongoing: {
      txn_metadata m = cur;
      return begin_end(m, commit, now_ms);
    }
    case txn_state::prepare_commit:
    case txn_state::prepare_abort:
      if ((cur.state == txn_state::prepare_commit) != commit) return error_code::invalid_txn_state;
      return complete(cur, now_ms) ? error_code::none : error_code::concurrent_transactions;
    case txn_state::complete_commit: return commit ? error_code::none : error_code::invalid_txn_state;
    case txn_state::complete_abort: return commit ? error_code::invalid_txn_state : error_code::none;
    case txn_state::empty: return error_code::invalid_txn_state;
  }
  return error_code::invalid_txn_state;
}

error_code txn_coordinator::begin_end(txn_metadata& m, bool commit, std::int64_t now_ms) {
  m.state = commit ? txn_state::prepare_commit : txn_state::prepare_abort;
  // The decision is durable before any marker exists: recovery rolls it forward.
  if (!persist(m, true)) return error_code::coordinator_not_available;
  txn_metadata& cur = txns_[m.transactional_id];
  cur = m;
  // A failed completion stays in Prepare*: tick() retries, others see CONCURRENT_TRANSACTIONS.
  complete(cur, now_ms);
  return error_code::none;
}

bool txn_coordinator::complete(txn_metadata& m, std::int64_t now_ms) {
  const bool commit = m.state == txn_state::prepare_commit;
  record::marker mk;
  mk.producer_id = m.producer_id;
  mk.producer_epoch = m.producer_epoch;
  mk.type = commit ? record::control_type::commit : record::control_type::abort;
  mk.coordinator_epoch = 0;
  mk.timestamp = now_ms;
  for (const auto& tp : m.partitions) {
    auto e = env_.write_marker(tp, mk);
    if (e != error_code::none && e != error_code::unknown_topic_or_partition) return false;
  }
  if (commit)
    for (const auto& [group, offs] : m.offsets)
      if (!offs.empty() && !env_.commit_offsets(group, offs)) return false;
  m.state = commit ? txn_state::complete_commit : txn_state::complete_abort;
  m.partitions.clear();
  m.offsets.clear();
  m.start_ms = -1;
  // Not synced: if lost, recovery finds Prepare* and completes again (idempotently).
  persist(m, false);
  return true;
}

error_code txn_coordinator::check_transactional_write(const std::optional<std::string>& transactional_id,
                                                      std::int64_t producer_id, std::int16_t epoch,
                                                      const topic_partition& tp) const {
  if (!transactional_id) return error_code::invalid_txn_state;
  const txn_metadata* m = find(*transactional_id);
  if (m == nullptr || m->producer_id != producer_id) return error_code::invalid_txn_state;
  if (epoch != m->producer_epoch) return error_code::invalid_producer_epoch;
  if (m->state != txn_state::ongoing || !m->partitions.contains(tp)) return error_code::invalid_txn_state;
  return error_code::none;
}

std::set<topic_partition> txn_coordinator::pending_offsets(const std::string& group) const {
  std::set<topic_partition> out;
  for (const auto& [id, m] : txns_) {
    if (m.state != txn_state::ongoing && !is_prepare(m.state)) continue;
    auto g = m.offsets.find(group);
    if (g == m.offsets.end()) continue;
    for (const auto& [tp, o] : g->second) out.insert(tp);
  }
  return out;
}

void txn_coordinator::tick(std::int64_t now_ms) {
  std::vector<std::string> expired;
  for (auto& [id, m] : txns_) {
    if (is_prepare(m.state)) {
      complete(m, now_ms);
    } else if (m.state == txn_state::ongoing && m.start_ms >= 0 && now_ms > m.start_ms + m.timeout_ms) {
      expired.push_back(id);
    }
  }
  for (const auto& id : expired) {
    // Abort with a bumped epoch so the timed-out producer is fenced, as Kafka does.
    txn_metadata m = txns_[id];
    m.last_producer_id = m.producer_id;
    m.last_producer_epoch = m.producer_epoch;
    m.producer_epoch = std::int16_t(std::min<int>(m.producer_epoch + 1, max_epoch));
    begin_end(m, false, now_ms);
  }
}

}  // namespace eddy::broker::txn
