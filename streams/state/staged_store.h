// staged_store: the transactional layer. Writes of the open transaction stay in a sorted
// map (reads see them first); commit() applies them to the committed store together with
// the changelog offset; abort() drops them, returning the store to its last committed state.
// It doubles as the write cache: repeated updates of a key between commits touch RocksDB once.
#pragma once

#include <map>

#include "streams/state/committed_store.h"

namespace eddy::streams::state {

class staged_store final : public kv_bytes_store {
 public:
  explicit staged_store(committed_store& base) : base_(&base) {}

  std::optional<std::string> get(std::string_view key) override;
  void put(std::string_view key, std::optional<std::string_view> value) override;
  void range(std::optional<std::string_view> from, std::optional<std::string_view> to,
             const std::function<bool(std::string_view, std::string_view)>& visit) override;
  int64_t approximate_num_entries() override;

  void commit(int64_t changelog_offset);
  void abort() { pending_.clear(); }
  bool dirty() const { return !pending_.empty(); }

 private:
  committed_store* base_;
  std::map<std::string, std::optional<std::string>, std::less<>> pending_;
};

}  // namespace eddy::streams::state
