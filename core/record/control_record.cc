#include "core/record/control_record.h"

#include "core/record/batch_builder.h"

namespace eddy::record {
namespace {

using protocol::error_code;

constexpr std::size_t key_size = 4;    // version + type
constexpr std::size_t value_size = 6;  // version + coordinator epoch

const std::uint8_t* bytes_of(std::string_view s) { return reinterpret_cast<const std::uint8_t*>(s.data()); }

}  // namespace

result<std::vector<std::uint8_t>> build_marker_batch(const marker& m, std::int64_t base_offset) {
  std::uint8_t key[key_size];
  be::store16(key, 0);
  be::store16(key + 2, std::uint16_t(m.type));
  std::uint8_t value[value_size];
  be::store16(value, 0);
  be::store32(value + 2, std::uint32_t(m.coordinator_epoch));

  batch_builder b({.codec = compression::none,
                   .base_offset = base_offset,
                   .producer_id = m.producer_id,
                   .producer_epoch = m.producer_epoch,
                   .base_sequence = -1,  // markers carry no sequence
                   .transactional = true,
                   .control = true});
  b.add(m.timestamp, std::string_view(reinterpret_cast<const char*>(key), key_size),
        std::string_view(reinterpret_cast<const char*>(value), value_size));
  return b.build();
}

result<control_type> parse_control_key(const nullable_bytes& key) {
  if (!key || key->size() < key_size) return fail(error_code::invalid_record, "control record key too short");
  std::int16_t version = std::int16_t(be::load16(bytes_of(*key)));
  if (version < 0) return fail(error_code::invalid_record, "negative control record key version");
  return control_type(std::int16_t(be::load16(bytes_of(*key) + 2)));
}

result<std::int32_t> parse_marker_value(const nullable_bytes& value) {
  if (!value || value->size() < value_size) return fail(error_code::invalid_record, "marker value too short");
  std::int16_t version = std::int16_t(be::load16(bytes_of(*value)));
  if (version < 0) return fail(error_code::invalid_record, "negative marker value version");
  return std::int32_t(be::load32(bytes_of(*value) + 2));
}

result<marker> read_marker(const batch_reader& batch) {
  batch_header_view h = batch.header();
  if (!h.is_control()) return fail(error_code::invalid_record, "not a control batch");
  if (batch.record_count() != 1) return fail(error_code::invalid_record, "control batch must hold exactly one record");
  auto it = batch.begin();  // keep the iterator alive: it owns the decoded record
  const record& rec = *it;
  auto type = parse_control_key(rec.key);
  if (!type) return type.error();
  auto epoch = parse_marker_value(rec.value);
  if (!epoch) return epoch.error();
  return marker{.producer_id = h.producer_id(),
                .producer_epoch = h.producer_epoch(),
                .type = *type,
                .coordinator_epoch = *epoch,
                .timestamp = rec.timestamp};
}

result<marker> read_marker_batch(byte_span bytes) {
  auto r = batch_reader::open(bytes);
  if (!r) return r.error();
  return read_marker(*r);
}

}  // namespace eddy::record
