#include "streams/state/memory_store.h"

namespace eddy::streams::state {

std::optional<std::string> memory_store::get(std::string_view key) {
  auto it = map_.find(key);
  if (it == map_.end()) return std::nullopt;
  return it->second;
}

void memory_store::range(std::optional<std::string_view> from, std::optional<std::string_view> to,
                         const std::function<bool(std::string_view, std::string_view)>& visit) {
  auto it = from ? map_.lower_bound(*from) : map_.begin();
  for (; it != map_.end(); ++it) {
    if (to && std::string_view(it->first) >= *to) break;
    if (!visit(it->first, it->second)) break;
  }
}

void memory_store::apply(const write_batch& writes, int64_t changelog_offset) {
  for (auto& [k, v] : writes) {
    if (v) map_.insert_or_assign(k, *v);
    else if (auto it = map_.find(k); it != map_.end()) map_.erase(it);
  }
  if (changelog_offset >= 0) offset_ = changelog_offset;
}

}  // namespace eddy::streams::state
