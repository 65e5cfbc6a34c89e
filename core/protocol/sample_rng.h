// Deterministic pseudo-random values for the generated fill_sample() functions that the
// codec round-trip tests use (splitmix64: tiny, fast, reproducible from a seed).
#pragma once

#include <cstdint>
#include <string>

#include "core/protocol/wire.h"

namespace eddy::protocol {

class sample_rng {
 public:
  explicit sample_rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::string string() {
    std::string s(next() % 12, 'a');
    for (auto& c : s) c = char('a' + next() % 26);
    return s;
  }
  bytes bytes_value() {
    bytes b(next() % 20);
    for (auto& c : b) c = std::uint8_t(next());
    return b;
  }
  uuid uuid_value() {
    uuid u;
    for (auto& c : u.value) c = std::uint8_t(next());
    return u;
  }

 private:
  std::uint64_t state_;
};

}  // namespace eddy::protocol
