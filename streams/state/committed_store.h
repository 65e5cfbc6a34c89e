// committed_store: the bottom layer of every state store: the state as of the last
// successful commit, plus the changelog offset that state corresponds to.
//
// Invariant: the stored data and changelog_offset() always change together (one atomic
// apply), so after a crash the store is exactly the changelog's prefix up to that offset and
// restoring means replaying the changelog from changelog_offset() + 1.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "eddy/streams/state_stores.h"

namespace eddy::streams::state {

using write_batch = std::vector<std::pair<std::string, std::optional<std::string>>>;

class committed_store : public kv_bytes_store {
 public:
  // Writes are applied in order; offset < 0 keeps the stored offset.
  virtual void apply(const write_batch& writes, int64_t changelog_offset) = 0;
  // -1 when nothing from the changelog is reflected yet.
  virtual int64_t changelog_offset() const = 0;
  // Direct puts bypass staging: only for tests and restore (prefer apply).
  void put(std::string_view key, std::optional<std::string_view> value) override {
    write_batch b;
    b.emplace_back(std::string(key), value ? std::optional<std::string>(std::string(*value)) : std::nullopt);
    apply(b, -1);
  }
};

}  // namespace eddy::streams::state
