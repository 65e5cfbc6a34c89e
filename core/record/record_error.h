// Result types of the record module. Expected failures (corrupt bytes from a client,
// an unknown codec, a decompression bomb) are return values carrying a Kafka wire error
// code plus a static, human-readable reason; nothing here throws on bad input.
//
// Example:
//   auto r = batch_reader::open(bytes);
//   if (!r) return r.error().code;   // e.g. error_code::corrupt_message
//   for (const record& rec : *r) ...
#pragma once

#include <optional>
#include <utility>

#include "core/protocol/error_code.h"

namespace eddy::record {

// ok() when code == none. `reason` always points at a string literal (no allocation).
struct status {
  protocol::error_code code = protocol::error_code::none;
  const char* reason = "";

  static status success() { return {}; }
  bool ok() const { return code == protocol::error_code::none; }
  explicit operator bool() const { return ok(); }
};

inline status fail(protocol::error_code code, const char* reason) { return status{code, reason}; }

// Either a T or a failed status.
template <class T>
class result {
 public:
  result(T value) : value_(std::move(value)) {}
  result(status error) : error_(error) {}

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  // The failure; a default (ok) status when this holds a value.
  const status& error() const { return error_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  status error_;
};

}  // namespace eddy::record
