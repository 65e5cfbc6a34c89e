#include "broker/log/transaction_index.h"

#include <fmt/format.h>

#include "core/record/batch_header.h"

namespace eddy::broker::log {

using protocol::error_code;
namespace be = record::be;

result<transaction_index> transaction_index::open(const std::filesystem::path& path, bool load) {
  transaction_index idx;
  auto opened = open_index_file(path, load, entry_size, 256ull * 1024 * 1024, "transaction index");
  if (!opened) return opened.error();
  idx.file_ = std::move(opened->handle);
  const std::vector<std::uint8_t>& buf = opened->contents;
  auto inconsistent = [&](std::string why) {
    return make_error(error_code::corrupt_message, fmt::format("transaction index {} is inconsistent: {}", path.string(), why));
  };
  for (std::size_t i = 0; i < buf.size(); i += entry_size) {
    aborted_txn e{std::int64_t(be::load64(&buf[i])), std::int64_t(be::load64(&buf[i + 8])),
                  std::int64_t(be::load64(&buf[i + 16])), std::int64_t(be::load64(&buf[i + 24]))};
    if (e.first_offset > e.last_offset || (!idx.entries_.empty() && e.last_offset <= idx.entries_.back().last_offset))
      return inconsistent("entries out of order");
    idx.entries_.push_back(e);
  }
  return idx;
}

result<void> transaction_index::append(const aborted_txn& e) {
  std::uint8_t buf[entry_size];
  be::store64(buf, std::uint64_t(e.producer_id));
  be::store64(buf + 8, std::uint64_t(e.first_offset));
  be::store64(buf + 16, std::uint64_t(e.last_offset));
  be::store64(buf + 24, std::uint64_t(e.last_stable_offset));
  if (auto r = file_->pwrite(buf, entries_.size() * entry_size); !r) return r;
  entries_.push_back(e);
  return {};
}

result<void> transaction_index::reset() {
  entries_.clear();
  return file_->truncate(0);
}

}  // namespace eddy::broker::log
