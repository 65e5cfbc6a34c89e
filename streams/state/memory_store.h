// memory_store: an in-memory committed store (a sorted map). Its changelog offset is never
// durable, so it is restored from the changelog's beginning when a task starts.
#pragma once

#include <map>

#include "streams/state/committed_store.h"

namespace eddy::streams::state {

class memory_store final : public committed_store {
 public:
  std::optional<std::string> get(std::string_view key) override;
  void range(std::optional<std::string_view> from, std::optional<std::string_view> to,
             const std::function<bool(std::string_view, std::string_view)>& visit) override;
  int64_t approximate_num_entries() override { return static_cast<int64_t>(map_.size()); }
  void apply(const write_batch& writes, int64_t changelog_offset) override;
  int64_t changelog_offset() const override { return offset_; }

 private:
  std::map<std::string, std::string, std::less<>> map_;
  int64_t offset_ = -1;
};

}  // namespace eddy::streams::state
