// staged_store: the transactional layer. Writes stay in memory in up to three sorted layers
// over the committed store, newest first (reads see the newest value of a key):
//   pending:   writes of the open transaction;
//   sealed:    writes of the transaction being committed (seal() moved them out of pending;
//              processing continues into a fresh pending layer while the commit completes);
//   unapplied: writes of committed transactions not yet written to the committed store.
// commit_sealed() moves the sealed writes to the unapplied layer after a successful commit,
// with the last changelog offset that transaction wrote; abort() drops pending and sealed,
// returning the store to its last committed state. The unapplied layer is applied to the
// committed store (data and changelog offset in one atomic apply) every apply_every commits,
// when it holds max_unapplied_bytes, or on flush(). A crash before that leaves the committed
// store at an older changelog offset, a consistent prefix of the changelog: restoring replays
// the longer tail. It doubles as the write cache: repeated updates of a key touch RocksDB once.
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

  // Defers applying committed writes to the committed store (default: every commit). With
  // `apply_first`, the first commit after this call still applies at once: a store just
  // opened usually starts on a backlog (the initial load after a start or a restore), which
  // should not be replayed again by a crash during the next few commits.
  void set_apply_policy(int apply_every, size_t max_unapplied_bytes, bool apply_first = true) {
    apply_every_ = apply_every < 1 ? 1 : apply_every;
    max_unapplied_bytes_ = max_unapplied_bytes;
    unapplied_commits_ = apply_first ? apply_every_ - 1 : 0;
  }
  // The open transaction's writes become the sealed layer (merged into it if one is sealed).
  void seal();
  // The sealed transaction committed; changelog_offset < 0: it wrote no changelog record.
  void commit_sealed(int64_t changelog_offset);
  // seal() + commit_sealed().
  void commit(int64_t changelog_offset) {
    seal();
    commit_sealed(changelog_offset);
  }
  void abort() {
    pending_.clear();
    sealed_.clear();
  }
  // Applies the unapplied (committed) writes to the committed store now.
  void flush();
  bool dirty() const { return !pending_.empty() || !sealed_.empty(); }
  size_t unapplied_entries() const { return unapplied_.size(); }

 private:
  using layer = std::map<std::string, std::optional<std::string>, std::less<>>;
  committed_store* base_;
  layer pending_, sealed_, unapplied_;
  int64_t unapplied_offset_ = -1;
  size_t unapplied_bytes_ = 0;
  int unapplied_commits_ = 0;
  int apply_every_ = 1;
  size_t max_unapplied_bytes_ = 0;
};

}  // namespace eddy::streams::state
