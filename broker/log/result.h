// A small result type for expected failures in the log layer (a corrupt file, a full
// disk, an invalid config, an unknown topic): a value or a log_error carrying the Kafka
// wire error code the caller should answer with and a human-readable message. Exceptions
// are kept for bugs, per ARCHITECTURE.md.
//
// Thread-safety: plain values; same rules as std::variant.
//
// Example:
//   result<std::int64_t> r = log.offset_for_timestamp(ts);
//   if (!r) return r.error().code;
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "core/protocol/error_code.h"

namespace eddy::broker::log {

struct log_error {
  protocol::error_code code = protocol::error_code::unknown_server_error;
  std::string message;
};

template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  result(log_error e) : v_(std::in_place_index<1>, std::move(e)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const log_error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, log_error> v_;
};

// result<void>: success or an error.
template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(log_error e) : err_(std::move(e)), ok_(false) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const log_error& error() const { return err_; }

 private:
  log_error err_;
  bool ok_ = true;
};

inline log_error make_error(protocol::error_code code, std::string message) {
  return log_error{code, std::move(message)};
}

}  // namespace eddy::broker::log
