// Request and response headers, and framing helpers.
//
// Request header v1: api_key int16, api_version int16, correlation_id int32,
// client_id nullable string (INT16 length, even in v2). v2 (flexible requests) adds a
// tagged-field section. Response header v0: correlation_id int32; v1 (flexible responses)
// adds tagged fields, except for ApiVersions whose response header is always v0 so that
// a client can parse it before knowing what the broker supports (KIP-511).
// Every frame on the wire is an int32 size followed by that many bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/protocol/api_keys.h"
#include "core/protocol/wire.h"

namespace eddy::protocol {

struct request_header {
  std::int16_t api_key = 0;
  std::int16_t api_version = 0;
  std::int32_t correlation_id = 0;
  std::optional<std::string> client_id;
};

// 2 for flexible (key, version), else 1. Unknown keys are read as v1.
int request_header_version(std::int16_t key, std::int16_t version);
// 1 for flexible (key, version) except ApiVersions, else 0.
int response_header_version(std::int16_t key, std::int16_t version);

request_header decode_request_header(reader& r);
void encode_request_header(writer& w, const request_header& h);
void encode_response_header(writer& w, std::int32_t correlation_id, int header_version);

// Appends a size-prefixed request frame: header + body.
template <class Message>
bytes encode_request_frame(const request_header& h, const Message& m) {
  bytes out(4);
  writer w(out);
  encode_request_header(w, h);
  m.encode(w, h.api_version);
  std::uint32_t n = std::uint32_t(out.size() - 4);
  out[0] = std::uint8_t(n >> 24); out[1] = std::uint8_t(n >> 16); out[2] = std::uint8_t(n >> 8); out[3] = std::uint8_t(n);
  return out;
}

// Appends a size-prefixed response frame for a request (key, version, correlation id).
// With `splices`, records pieces of at least `splice_min` bytes are not copied into `out`
// but listed there (see writer::splice_records); the size prefix counts them, so the
// frame is `out` with each splice's bytes inserted at its position.
template <class Message>
void encode_response_frame(bytes& out, std::int16_t key, std::int16_t version, std::int32_t correlation_id, const Message& m,
                           std::vector<splice>* splices = nullptr, std::size_t splice_min = 0) {
  std::size_t start = out.size();
  out.resize(start + 4);
  writer w(out);
  if (splices != nullptr) w.splice_records(splices, splice_min);
  encode_response_header(w, correlation_id, response_header_version(key, version));
  m.encode(w, version);
  std::uint32_t n = std::uint32_t(out.size() - start - 4 + w.spliced_bytes());
  out[start] = std::uint8_t(n >> 24); out[start + 1] = std::uint8_t(n >> 16);
  out[start + 2] = std::uint8_t(n >> 8); out[start + 3] = std::uint8_t(n);
}

}  // namespace eddy::protocol
