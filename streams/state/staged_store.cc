#include "streams/state/staged_store.h"

namespace eddy::streams::state {

namespace {
using visit_fn = std::function<bool(std::string_view, std::string_view)>;
using range_fn = std::function<void(const visit_fn&)>;
using layer = std::map<std::string, std::optional<std::string>, std::less<>>;

// Visits [from, to) of `upper` merged over the entries `lower` visits, in key order: upper wins
// on equal keys and its deletions hide lower entries. Returns false once visit stopped.
bool merge_range(const layer& upper, std::optional<std::string_view> from, std::optional<std::string_view> to,
                 const range_fn& lower, const visit_fn& visit) {
  auto p = from ? upper.lower_bound(*from) : upper.begin();
  auto in_range = [&](layer::const_iterator it) {
    return it != upper.end() && (!to || std::string_view(it->first) < *to);
  };
  bool go = true;
  lower([&](std::string_view k, std::string_view v) {
    while (in_range(p) && std::string_view(p->first) < k) {
      if (p->second && !visit(p->first, *p->second)) return go = false;
      ++p;
    }
    if (in_range(p) && std::string_view(p->first) == k) {
      bool keep = p->second ? visit(p->first, *p->second) : true;
      ++p;
      return go = keep;
    }
    return go = visit(k, v);
  });
  while (go && in_range(p)) {
    if (p->second && !visit(p->first, *p->second)) return false;
    ++p;
  }
  return go;
}

size_t entry_bytes(const std::string& k, const std::optional<std::string>& v) {
  return k.size() + (v ? v->size() : 0) + 64;  // 64: rough cost of the map node
}
}  // namespace

std::optional<std::string> staged_store::get(std::string_view key) {
  if (auto it = pending_.find(key); it != pending_.end()) return it->second;
  if (!sealed_.empty())
    if (auto it = sealed_.find(key); it != sealed_.end()) return it->second;
  if (!unapplied_.empty())
    if (auto it = unapplied_.find(key); it != unapplied_.end()) return it->second;
  return base_->get(key);
}

void staged_store::put(std::string_view key, std::optional<std::string_view> value) {
  auto it = pending_.lower_bound(key);
  if (it != pending_.end() && std::string_view(it->first) == key) {
    if (!value) it->second.reset();
    else if (it->second) it->second->assign(value->data(), value->size());  // reuses the old value's buffer
    else it->second.emplace(*value);
  } else {
    pending_.emplace_hint(it, std::string(key), value ? std::optional<std::string>(std::string(*value)) : std::nullopt);
  }
}

void staged_store::range(std::optional<std::string_view> from, std::optional<std::string_view> to,
                         const std::function<bool(std::string_view, std::string_view)>& visit) {
  range_fn lower = [&](const visit_fn& v) { base_->range(from, to, v); };
  for (const layer* l : {&unapplied_, &sealed_, &pending_}) {
    if (l->empty()) continue;
    lower = [l, from, to, below = std::move(lower)](const visit_fn& v) { merge_range(*l, from, to, below, v); };
  }
  lower(visit);
}

int64_t staged_store::approximate_num_entries() {
  return base_->approximate_num_entries() + static_cast<int64_t>(pending_.size() + sealed_.size() + unapplied_.size());
}

void staged_store::seal() {
  if (sealed_.empty()) {
    sealed_.swap(pending_);
    return;
  }
  for (auto& [k, v] : pending_) sealed_.insert_or_assign(k, std::move(v));
  pending_.clear();
}

void staged_store::commit_sealed(int64_t changelog_offset) {
  if (sealed_.empty() && changelog_offset < 0) return;
  if (unapplied_.empty()) {
    unapplied_.swap(sealed_);
    for (auto& [k, v] : unapplied_) unapplied_bytes_ += entry_bytes(k, v);
  } else {
    for (auto& [k, v] : sealed_) {
      auto it = unapplied_.lower_bound(k);
      if (it != unapplied_.end() && it->first == k) {
        unapplied_bytes_ -= entry_bytes(it->first, it->second);
        it->second = std::move(v);
      } else {
        it = unapplied_.emplace_hint(it, k, std::move(v));
      }
      unapplied_bytes_ += entry_bytes(it->first, it->second);
    }
    sealed_.clear();
  }
  if (changelog_offset >= 0) unapplied_offset_ = changelog_offset;
  if (++unapplied_commits_ >= apply_every_ || unapplied_bytes_ >= max_unapplied_bytes_) flush();
}

void staged_store::flush() {
  if (unapplied_.empty() && unapplied_offset_ < 0) return;
  write_batch b;
  b.reserve(unapplied_.size());
  for (auto& [k, v] : unapplied_) b.emplace_back(k, std::move(v));
  base_->apply(b, unapplied_offset_);
  unapplied_.clear();
  unapplied_offset_ = -1;
  unapplied_bytes_ = 0;
  unapplied_commits_ = 0;
}

}  // namespace eddy::streams::state
