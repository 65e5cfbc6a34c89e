#include "broker/log/offset_index.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/record/batch_header.h"

namespace eddy::broker::log {

using protocol::error_code;
namespace be = record::be;

result<offset_index> offset_index::open(const std::filesystem::path& path, std::int64_t base_offset,
                                        std::uint64_t log_size, bool load) {
  offset_index idx;
  idx.base_offset_ = base_offset;
  auto opened = open_index_file(path, load, entry_size, (log_size / record::batch_header_size + 1) * entry_size, "offset index");
  if (!opened) return opened.error();
  idx.file_ = std::move(opened->handle);
  const std::vector<std::uint8_t>& buf = opened->contents;
  auto inconsistent = [&](std::string why) {
    return make_error(error_code::corrupt_message, fmt::format("offset index {} is inconsistent: {}", path.string(), why));
  };
  idx.entries_.reserve(buf.size() / entry_size);
  for (std::size_t i = 0; i < buf.size(); i += entry_size) {
    entry e{be::load32(&buf[i]), be::load32(&buf[i + 4])};
    if (!idx.entries_.empty() && (e.relative_offset <= idx.entries_.back().relative_offset ||
                                  e.position <= idx.entries_.back().position))
      return inconsistent("entries not increasing");
    if (e.position >= log_size) return inconsistent("position past the end of the log");
    idx.entries_.push_back(e);
  }
  return idx;
}

result<void> offset_index::append(std::int64_t offset, std::uint64_t position) {
  entry e{std::uint32_t(offset - base_offset_), std::uint32_t(position)};
  if (!entries_.empty() && e.relative_offset <= entries_.back().relative_offset) return {};
  std::uint8_t buf[entry_size];
  be::store32(buf, e.relative_offset);
  be::store32(buf + 4, e.position);
  if (auto r = file_->pwrite(buf, entries_.size() * entry_size); !r) return r;
  entries_.push_back(e);
  return {};
}

std::uint64_t offset_index::lookup(std::int64_t offset) const {
  if (offset < base_offset_ || entries_.empty()) return 0;
  std::int64_t rel = offset - base_offset_;
  if (rel > std::int64_t(UINT32_MAX)) return entries_.back().position;
  auto it = std::upper_bound(entries_.begin(), entries_.end(), std::uint32_t(rel),
                             [](std::uint32_t r, const entry& e) { return r < e.relative_offset; });
  if (it == entries_.begin()) return 0;
  return std::prev(it)->position;
}

result<void> offset_index::reset() {
  entries_.clear();
  return file_->truncate(0);
}

}  // namespace eddy::broker::log
