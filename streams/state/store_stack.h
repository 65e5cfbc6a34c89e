// store_stack: one task's instance of a declared store, assembled from its layers:
//   (typed view, in the public header) -> logging -> staging -> committed (RocksDB or memory).
// The logging layer sends every write to the store's changelog partition (= task partition)
// through the task's record sink, in the same transaction as the outputs it caused.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "eddy/streams/detail/graph.h"
#include "streams/state/committed_store.h"
#include "streams/state/staged_store.h"

namespace eddy::streams::state {

// Sends a changelog record: (topic, partition, key, value or nullopt for a tombstone, timestamp).
using changelog_writer = std::function<void(const std::string& topic, int32_t partition, std::string_view key,
                                            std::optional<std::string_view> value, int64_t timestamp)>;

class store_stack final : public kv_bytes_store {
 public:
  store_stack(detail::store_spec spec, std::unique_ptr<committed_store> base, std::string changelog_topic,
              int32_t partition, changelog_writer writer, std::function<int64_t()> timestamp);

  std::optional<std::string> get(std::string_view key) override { return staged_.get(key); }
  void put(std::string_view key, std::optional<std::string_view> value) override;
  void range(std::optional<std::string_view> from, std::optional<std::string_view> to,
             const std::function<bool(std::string_view, std::string_view)>& visit) override {
    staged_.range(from, to, visit);
  }
  int64_t approximate_num_entries() override { return staged_.approximate_num_entries(); }

  // After the commit succeeded: apply staged writes with the last changelog offset written
  // (or -1 when no changelog record was written since the last commit).
  void commit(int64_t changelog_offset) { staged_.commit(changelog_offset); }
  void abort() { staged_.abort(); }

  const detail::store_spec& spec() const { return spec_; }
  const std::string& changelog_topic() const { return changelog_; }  // empty if not logged
  int32_t partition() const { return partition_; }
  committed_store& committed() { return *base_; }

 private:
  detail::store_spec spec_;
  std::unique_ptr<committed_store> base_;
  staged_store staged_;
  std::string changelog_;
  int32_t partition_;
  changelog_writer writer_;
  std::function<int64_t()> timestamp_;
};

}  // namespace eddy::streams::state
