// serdes: how keys and values become bytes at the edges of a topology (topics and stores).
//
// A serde<T> is a pair of functions. Built-in ones match Kafka's Java serdes byte for byte:
// strings as UTF-8 bytes, int32/int64 big-endian, double as big-endian IEEE-754 bits, bytes
// unchanged. default_serde<T>() picks the built-in for T; user types supply their own serde
// (pass it to stream_builder::stream, produced, grouped or materialized), or specialise
// eddy::streams::serde_for<T> once so that every DSL call finds it.
//
// Deserializers throw serde_error on malformed input; the runtime turns that into the
// configured deserialization error handler's decision (fail or skip the record).
//
// Thread-safety: serdes are immutable values; the built-ins are safe to share across threads.
//
// Example:
//   struct point { int32_t x, y; };
//   template <> struct eddy::streams::serde_for<point> {
//     static serde<point> get() {
//       return {[](const point& p) { return serdes::int32().serialize(p.x) + serdes::int32().serialize(p.y); },
//               [](std::string_view b) { return point{serdes::int32().deserialize(b.substr(0, 4)),
//                                                     serdes::int32().deserialize(b.substr(4, 4))}; }};
//     }
//   };
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace eddy::streams {

// Raw bytes, passed through unchanged.
using bytes = std::vector<uint8_t>;

struct serde_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class T>
struct serde {
  std::function<std::string(const T&)> serialize;
  std::function<T(std::string_view)> deserialize;
  bool valid() const { return serialize && deserialize; }
};

// Specialise to give a user type a default serde: static serde<T> get().
template <class T>
struct serde_for;

namespace serdes {

inline serde<std::string> string() {
  return {[](const std::string& s) { return s; }, [](std::string_view b) { return std::string(b); }};
}

inline serde<bytes> byte_array() {
  return {[](const bytes& v) { return std::string(v.begin(), v.end()); },
          [](std::string_view b) { return bytes(b.begin(), b.end()); }};
}

namespace detail {
template <class U>
std::string to_big_endian(U v) {
  std::string out(sizeof(U), '\0');
  for (size_t i = 0; i < sizeof(U); ++i) out[sizeof(U) - 1 - i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}
template <class U>
U from_big_endian(std::string_view b, const char* what) {
  if (b.size() != sizeof(U)) throw serde_error(std::string(what) + ": expected " + std::to_string(sizeof(U)) +
                                               " bytes, got " + std::to_string(b.size()));
  U v = 0;
  for (size_t i = 0; i < sizeof(U); ++i) v = static_cast<U>((v << 8) | static_cast<uint8_t>(b[i]));
  return v;
}
}  // namespace detail

inline serde<int32_t> int32() {
  return {[](const int32_t& v) { return detail::to_big_endian(static_cast<uint32_t>(v)); },
          [](std::string_view b) { return static_cast<int32_t>(detail::from_big_endian<uint32_t>(b, "int32 serde")); }};
}

inline serde<int64_t> int64() {
  return {[](const int64_t& v) { return detail::to_big_endian(static_cast<uint64_t>(v)); },
          [](std::string_view b) { return static_cast<int64_t>(detail::from_big_endian<uint64_t>(b, "int64 serde")); }};
}

inline serde<double> float64() {
  return {[](const double& v) {
            uint64_t bits;
            std::memcpy(&bits, &v, sizeof bits);
            return detail::to_big_endian(bits);
          },
          [](std::string_view b) {
            uint64_t bits = detail::from_big_endian<uint64_t>(b, "double serde");
            double v;
            std::memcpy(&v, &bits, sizeof v);
            return v;
          }};
}

}  // namespace serdes

template <>
struct serde_for<std::string> {
  static serde<std::string> get() { return serdes::string(); }
};
template <>
struct serde_for<bytes> {
  static serde<bytes> get() { return serdes::byte_array(); }
};
template <>
struct serde_for<int32_t> {
  static serde<int32_t> get() { return serdes::int32(); }
};
template <>
struct serde_for<int64_t> {
  static serde<int64_t> get() { return serdes::int64(); }
};
template <>
struct serde_for<double> {
  static serde<double> get() { return serdes::float64(); }
};

template <class T>
concept has_default_serde = requires { serde_for<T>::get(); };

// The default serde for T, or an invalid (empty) serde when T has none: the topology
// reports it at build time, naming the operator that needs one.
template <class T>
serde<T> default_serde() {
  if constexpr (has_default_serde<T>) {
    return serde_for<T>::get();
  } else {
    return {};
  }
}

}  // namespace eddy::streams
