#include "core/protocol/header.h"

namespace eddy::protocol {

int request_header_version(std::int16_t key, std::int16_t version) { return is_flexible(key, version) ? 2 : 1; }

int response_header_version(std::int16_t key, std::int16_t version) {
  if (key == std::int16_t(api_key::api_versions)) return 0;
  return is_flexible(key, version) ? 1 : 0;
}

request_header decode_request_header(reader& r) {
  request_header h;
  h.api_key = r.read_int16();
  h.api_version = r.read_int16();
  h.correlation_id = r.read_int32();
  h.client_id = r.read_nullable_string(false);  // never compact, even in header v2
  if (request_header_version(h.api_key, h.api_version) >= 2) r.skip_tagged_fields();
  return h;
}

void encode_request_header(writer& w, const request_header& h) {
  w.write_int16(h.api_key);
  w.write_int16(h.api_version);
  w.write_int32(h.correlation_id);
  w.write_nullable_string(h.client_id, false);
  if (request_header_version(h.api_key, h.api_version) >= 2) w.write_uvarint(0);
}

void encode_response_header(writer& w, std::int32_t correlation_id, int header_version) {
  w.write_int32(correlation_id);
  if (header_version >= 1) w.write_uvarint(0);
}

}  // namespace eddy::protocol
