#include "streams/state/store_stack.h"

namespace eddy::streams::state {

store_stack::store_stack(detail::store_spec spec, std::unique_ptr<committed_store> base, std::string changelog_topic,
                         int32_t partition, changelog_writer writer, std::function<int64_t()> timestamp)
    : spec_(std::move(spec)),
      base_(std::move(base)),
      staged_(*base_),
      changelog_(std::move(changelog_topic)),
      partition_(partition),
      writer_(std::move(writer)),
      timestamp_(std::move(timestamp)) {
  if (spec_.persistent) staged_.set_apply_policy(kApplyEveryCommits, kMaxUnappliedBytes);
}

void store_stack::put(std::string_view key, std::optional<std::string_view> value) {
  staged_.put(key, value);
  if (!changelog_.empty() && writer_) writer_(changelog_, partition_, key, value, timestamp_ ? timestamp_() : 0);
}

}  // namespace eddy::streams::state
