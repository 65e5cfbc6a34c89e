#include "broker/log/time_index.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/record/batch_header.h"

namespace eddy::broker::log {

using protocol::error_code;
namespace be = record::be;

result<time_index> time_index::open(const std::filesystem::path& path, std::int64_t base_offset, bool load) {
  time_index idx;
  idx.base_offset_ = base_offset;
  auto opened = open_index_file(path, load, entry_size, 64ull * 1024 * 1024, "time index");
  if (!opened) return opened.error();
  idx.file_ = std::move(opened->handle);
  const std::vector<std::uint8_t>& buf = opened->contents;
  auto inconsistent = [&](std::string why) {
    return make_error(error_code::corrupt_message, fmt::format("time index {} is inconsistent: {}", path.string(), why));
  };
  for (std::size_t i = 0; i < buf.size(); i += entry_size) {
    entry e{std::int64_t(be::load64(&buf[i])), be::load32(&buf[i + 8])};
    if (!idx.entries_.empty() && (e.timestamp < idx.entries_.back().timestamp ||
                                  e.relative_offset < idx.entries_.back().relative_offset))
      return inconsistent("entries not increasing");
    idx.entries_.push_back(e);
  }
  return idx;
}

result<void> time_index::maybe_append(std::int64_t timestamp, std::int64_t offset) {
  if (!entries_.empty() && timestamp <= entries_.back().timestamp) return {};
  entry e{timestamp, std::uint32_t(offset - base_offset_)};
  if (!entries_.empty() && e.relative_offset < entries_.back().relative_offset) return {};
  std::uint8_t buf[entry_size];
  be::store64(buf, std::uint64_t(e.timestamp));
  be::store32(buf + 8, e.relative_offset);
  if (auto r = file_->pwrite(buf, entries_.size() * entry_size); !r) return r;
  entries_.push_back(e);
  return {};
}

std::optional<std::int64_t> time_index::last_offset_before(std::int64_t timestamp) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), timestamp,
                             [](const entry& e, std::int64_t t) { return e.timestamp < t; });
  if (it == entries_.begin()) return std::nullopt;
  return base_offset_ + std::prev(it)->relative_offset;
}

result<void> time_index::reset() {
  entries_.clear();
  return file_->truncate(0);
}

}  // namespace eddy::broker::log
