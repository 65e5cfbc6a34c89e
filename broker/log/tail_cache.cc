#include "broker/log/tail_cache.h"

#include <algorithm>
#include <cstring>

#include "broker/log/partition_log.h"

namespace eddy::broker::log {

void tail_cache_budget::make_room(std::size_t bytes) {
  while (used_ + bytes > max_bytes_ && !order_.empty()) {
    queued q = order_.front();
    order_.pop_front();
    auto it = caches_.find(q.cache_id);
    if (it == caches_.end()) continue;  // that cache is gone
    tail_cache& c = *it->second;
    if (!c.entries_.empty() && c.entries_.front().seq == q.seq) c.pop_front();
    // Otherwise the cache dropped that batch itself already.
  }
  // Batches the caches dropped themselves leave stale slots behind; a partition that is
  // never evicted (its oldest batch stays) must not let them pile up behind it.
  if (order_.size() > 2 * live_ + 1024) {
    std::deque<queued> kept;
    for (const queued& q : order_) {
      auto it = caches_.find(q.cache_id);
      if (it == caches_.end()) continue;
      const auto& es = it->second->entries_;
      if (!es.empty() && q.seq >= es.front().seq) kept.push_back(q);
    }
    order_.swap(kept);
  }
}

tail_cache::tail_cache(tail_cache_budget* budget) : budget_(budget) {
  if (budget_ != nullptr) {
    id_ = budget_->next_cache_id_++;
    budget_->caches_.emplace(id_, this);
  }
}

tail_cache::~tail_cache() {
  clear();
  if (budget_ != nullptr) budget_->caches_.erase(id_);
}

void tail_cache::add(std::int64_t base_offset, std::int64_t last_offset, std::span<const std::uint8_t> bytes,
                     std::shared_ptr<const void> owner) {
  if (budget_ == nullptr) return;
  if (!entries_.empty() && base_offset != end_offset()) clear();
  std::size_t c = bytes.size() + tail_cache_budget::per_batch_overhead;
  if (c > budget_->max_bytes_) {
    clear();  // the cache must stay one contiguous range
    return;
  }
  budget_->make_room(c);
  if (!owner) {
    auto copy = std::make_shared<std::vector<std::uint8_t>>(bytes.begin(), bytes.end());
    bytes = std::span<const std::uint8_t>(copy->data(), copy->size());
    owner = std::move(copy);
  }
  std::uint64_t seq = next_seq_++;
  entries_.push_back(entry{base_offset, last_offset, bytes, std::move(owner), seq});
  budget_->used_ += c;
  ++budget_->live_;
  budget_->order_.push_back({id_, seq});
}

bool tail_cache::read(std::int64_t offset, std::int32_t max_bytes, std::int64_t upper_bound, read_result& out,
                      bool share) const {
  if (entries_.empty() || offset < entries_.front().base || offset > entries_.back().last) return false;
  auto it = std::partition_point(entries_.begin(), entries_.end(), [&](const entry& e) { return e.last < offset; });
  std::uint64_t limit = std::max<std::uint64_t>(it->bytes.size(), std::uint64_t(std::max(0, max_bytes)));
  std::uint64_t total = 0;
  auto end = it;
  for (; end != entries_.end(); ++end) {
    if (end->base >= upper_bound) break;
    if (total > 0 && total + end->bytes.size() > limit) break;
    total += end->bytes.size();
  }
  out.records.clear();
  out.pieces.clear();
  out.owners.clear();
  out.first_offset = -1;
  out.next_offset = -1;
  if (end == it) return true;  // nothing below the upper bound yet
  out.first_offset = it->base;
  out.next_offset = std::prev(end)->last + 1;
  if (share) {
    for (auto e = it; e != end; ++e) {
      out.pieces.push_back(e->bytes);
      if (out.owners.empty() || out.owners.back() != e->owner) out.owners.push_back(e->owner);
    }
    return true;
  }
  out.records.resize(total);
  std::uint8_t* p = out.records.data();
  for (auto e = it; e != end; ++e) {
    std::memcpy(p, e->bytes.data(), e->bytes.size());
    p += e->bytes.size();
  }
  return true;
}

void tail_cache::drop_below(std::int64_t offset) {
  while (!entries_.empty() && entries_.front().last < offset) pop_front();
}

void tail_cache::clear() {
  while (!entries_.empty()) pop_front();
}

void tail_cache::pop_front() {
  budget_->used_ -= cost(entries_.front());
  --budget_->live_;
  entries_.pop_front();
}

}  // namespace eddy::broker::log
