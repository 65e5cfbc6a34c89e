#include "streams/ops/change_codec.h"

#include "eddy/streams/serdes.h"

namespace eddy::streams::ops {

std::string encode_change(const detail::change& c, const detail::any_serde& vs) {
  std::string old_b = c.old_value.has_value() ? vs.serialize(c.old_value) : std::string();
  std::string new_b = c.new_value.has_value() ? vs.serialize(c.new_value) : std::string();
  std::string out;
  out.push_back(static_cast<char>((c.old_value.has_value() ? 1 : 0) | (c.new_value.has_value() ? 2 : 0)));
  out += serdes::int32().serialize(static_cast<int32_t>(old_b.size()));
  out += old_b;
  out += new_b;
  return out;
}

detail::change decode_change(std::string_view b, const detail::any_serde& vs) {
  if (b.size() < 5) throw serde_error("change record shorter than 5 bytes");
  uint8_t flags = static_cast<uint8_t>(b[0]);
  auto old_len = static_cast<size_t>(serdes::int32().deserialize(b.substr(1, 4)));
  if (5 + old_len > b.size()) throw serde_error("change record: old value length out of range");
  detail::change c;
  if (flags & 1) c.old_value = vs.deserialize(b.substr(5, old_len));
  if (flags & 2) c.new_value = vs.deserialize(b.substr(5 + old_len));
  return c;
}

}  // namespace eddy::streams::ops
