#include "streams/state/staged_store.h"

namespace eddy::streams::state {

std::optional<std::string> staged_store::get(std::string_view key) {
  if (auto it = pending_.find(key); it != pending_.end()) return it->second;
  return base_->get(key);
}

void staged_store::put(std::string_view key, std::optional<std::string_view> value) {
  pending_.insert_or_assign(std::string(key), value ? std::optional<std::string>(std::string(*value)) : std::nullopt);
}

// Merges the committed range with the pending writes in key order; pending wins on equal keys
// and pending deletions hide committed entries.
void staged_store::range(std::optional<std::string_view> from, std::optional<std::string_view> to,
                         const std::function<bool(std::string_view, std::string_view)>& visit) {
  auto p = from ? pending_.lower_bound(*from) : pending_.begin();
  auto in_range = [&](decltype(p) it) { return it != pending_.end() && (!to || std::string_view(it->first) < *to); };
  bool go = true;
  base_->range(from, to, [&](std::string_view k, std::string_view v) {
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
    if (p->second && !visit(p->first, *p->second)) return;
    ++p;
  }
}

int64_t staged_store::approximate_num_entries() {
  return base_->approximate_num_entries() + static_cast<int64_t>(pending_.size());
}

void staged_store::commit(int64_t changelog_offset) {
  if (pending_.empty() && changelog_offset < 0) return;
  write_batch b;
  b.reserve(pending_.size());
  for (auto& [k, v] : pending_) b.emplace_back(k, v);
  base_->apply(b, changelog_offset);
  pending_.clear();
}

}  // namespace eddy::streams::state
