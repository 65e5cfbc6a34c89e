#include "broker/txn/producer_state.h"

#include <limits>

namespace eddy::broker::txn {

using protocol::error_code;

std::int32_t last_sequence(std::int32_t base_sequence, std::int32_t last_offset_delta) {
  std::int64_t last = std::int64_t(base_sequence) + last_offset_delta;
  if (last > std::numeric_limits<std::int32_t>::max()) last -= std::int64_t(std::numeric_limits<std::int32_t>::max()) + 1;
  return std::int32_t(last);
}

namespace {
bool in_sequence(std::int32_t last_seq, std::int32_t next_seq) {
  if (last_seq == std::numeric_limits<std::int32_t>::max()) return next_seq == 0;
  return std::int64_t(next_seq) == std::int64_t(last_seq) + 1;
}
}  // namespace

sequence_verdict partition_producers::check(std::int64_t producer_id, std::int16_t epoch, std::int32_t first_seq,
                                            std::int32_t last_seq) const {
  auto it = entries_.find(producer_id);
  if (it == entries_.end()) return {};  // unknown producer: any start is fine
  const producer_entry& e = it->second;
  if (epoch < e.epoch) return {error_code::invalid_producer_epoch, std::nullopt};
  if (epoch > e.epoch) {
    if (first_seq != 0) return {error_code::out_of_order_sequence_number, std::nullopt};
    return {};
  }
  for (const auto& b : e.batches)
    if (b.first_seq == first_seq && b.last_seq == last_seq) return {error_code::none, b.first_offset};
  if (e.batches.empty()) {
    // Same epoch with nothing cached: a marker just bumped the epoch.
    if (first_seq != 0) return {error_code::out_of_order_sequence_number, std::nullopt};
    return {};
  }
  if (!in_sequence(e.batches.back().last_seq, first_seq)) return {error_code::out_of_order_sequence_number, std::nullopt};
  return {};
}

sequence_verdict partition_producers::check(record::batch_header_view b) const {
  return check(b.producer_id(), b.producer_epoch(), b.base_sequence(),
               last_sequence(b.base_sequence(), b.last_offset_delta()));
}

void partition_producers::on_append(std::int64_t producer_id, std::int16_t epoch, std::int32_t first_seq,
                                    std::int32_t last_seq, std::int64_t first_offset, std::int64_t last_offset) {
  producer_entry& e = entries_[producer_id];
  if (epoch != e.epoch) {
    e.epoch = epoch;
    e.batches.clear();
  }
  e.batches.push_back({first_seq, last_seq, first_offset, last_offset});
  while (e.batches.size() > max_cached_batches) e.batches.pop_front();
}

void partition_producers::on_marker(std::int64_t producer_id, std::int16_t epoch) {
  producer_entry& e = entries_[producer_id];
  if (epoch > e.epoch) {
    e.epoch = epoch;
    e.batches.clear();
  }
}

void partition_producers::replay(const log::batch_info& b) {
  if (b.producer_id < 0) return;
  if (b.is_control()) {
    on_marker(b.producer_id, b.producer_epoch);
    return;
  }
  on_append(b.producer_id, b.producer_epoch, b.base_sequence,
            last_sequence(b.base_sequence, std::int32_t(b.last_offset - b.base_offset)), b.base_offset, b.last_offset);
}

void partition_producers::encode(protocol::writer& w) const {
  w.write_int32(std::int32_t(entries_.size()));
  for (const auto& [pid, e] : entries_) {
    w.write_int64(pid);
    w.write_int16(e.epoch);
    w.write_int8(std::int8_t(e.batches.size()));
    for (const auto& b : e.batches) {
      w.write_int32(b.first_seq);
      w.write_int32(b.last_seq);
      w.write_int64(b.first_offset);
      w.write_int64(b.last_offset);
    }
  }
}

void partition_producers::decode(protocol::reader& r) {
  entries_.clear();
  std::int32_t n = r.read_int32();
  if (n < 0) throw protocol::decode_error("negative producer count");
  for (std::int32_t i = 0; i < n; ++i) {
    std::int64_t pid = r.read_int64();
    producer_entry e;
    e.epoch = r.read_int16();
    std::int8_t nb = r.read_int8();
    if (nb < 0 || std::size_t(nb) > max_cached_batches) throw protocol::decode_error("bad cached batch count");
    for (std::int8_t j = 0; j < nb; ++j) {
      cached_batch b;
      b.first_seq = r.read_int32();
      b.last_seq = r.read_int32();
      b.first_offset = r.read_int64();
      b.last_offset = r.read_int64();
      e.batches.push_back(b);
    }
    entries_[pid] = std::move(e);
  }
}

}  // namespace eddy::broker::txn
