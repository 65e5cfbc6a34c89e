#include "broker/txn/txn_metadata.h"

namespace eddy::broker::txn {

std::string_view state_name(txn_state s) {
  switch (s) {
    case txn_state::empty: return "Empty";
    case txn_state::ongoing: return "Ongoing";
    case txn_state::prepare_commit: return "PrepareCommit";
    case txn_state::prepare_abort: return "PrepareAbort";
    case txn_state::complete_commit: return "CompleteCommit";
    case txn_state::complete_abort: return "CompleteAbort";
  }
  return "Unknown";
}

void encode(protocol::writer& w, const txn_metadata& m) {
  w.write_int8(record_type_transaction);
  w.write_string(m.transactional_id, false);
  w.write_int64(m.producer_id);
  w.write_int16(m.producer_epoch);
  w.write_int64(m.last_producer_id);
  w.write_int16(m.last_producer_epoch);
  w.write_int32(m.timeout_ms);
  w.write_int8(std::int8_t(m.state));
  w.write_int64(m.start_ms);
  w.write_int32(std::int32_t(m.partitions.size()));
  for (const auto& [t, p] : m.partitions) {
    w.write_string(t, false);
    w.write_int32(p);
  }
  w.write_int32(std::int32_t(m.offsets.size()));
  for (const auto& [g, offs] : m.offsets) {
    w.write_string(g, false);
    w.write_int32(std::int32_t(offs.size()));
    for (const auto& [tp, o] : offs) {
      w.write_string(tp.first, false);
      w.write_int32(tp.second);
      w.write_int64(o.offset);
      w.write_int32(o.leader_epoch);
      w.write_nullable_string(o.metadata, false);
    }
  }
}

txn_metadata decode_txn_metadata(protocol::reader& r) {
  txn_metadata m;
  m.transactional_id = r.read_string(false);
  m.producer_id = r.read_int64();
  m.producer_epoch = r.read_int16();
  m.last_producer_id = r.read_int64();
  m.last_producer_epoch = r.read_int16();
  m.timeout_ms = r.read_int32();
  std::int8_t s = r.read_int8();
  if (s < 0 || s > 5) throw protocol::decode_error("bad transaction state");
  m.state = txn_state(s);
  m.start_ms = r.read_int64();
  std::int32_t np = r.read_int32();
  if (np < 0) throw protocol::decode_error("negative partition count");
  for (std::int32_t i = 0; i < np; ++i) {
    std::string t = r.read_string(false);
    m.partitions.emplace(std::move(t), r.read_int32());
  }
  std::int32_t ng = r.read_int32();
  if (ng < 0) throw protocol::decode_error("negative group count");
  for (std::int32_t i = 0; i < ng; ++i) {
    auto& offs = m.offsets[r.read_string(false)];
    std::int32_t no = r.read_int32();
    if (no < 0) throw protocol::decode_error("negative offset count");
    for (std::int32_t j = 0; j < no; ++j) {
      std::string t = r.read_string(false);
      std::int32_t p = r.read_int32();
      pending_offset o;
      o.offset = r.read_int64();
      o.leader_epoch = r.read_int32();
      o.metadata = r.read_nullable_string(false);
      offs[{std::move(t), p}] = std::move(o);
    }
  }
  return m;
}

}  // namespace eddy::broker::txn
