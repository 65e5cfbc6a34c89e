#include "streams/runtime/murmur2.h"

namespace eddy::streams::runtime {

uint32_t murmur2(std::string_view data) {
  const uint32_t seed = 0x9747b28c;
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  uint32_t len = static_cast<uint32_t>(data.size());
  uint32_t h = seed ^ len;
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t i = 0;
  for (; i + 4 <= data.size(); i += 4) {
    uint32_t k = uint32_t(p[i]) | uint32_t(p[i + 1]) << 8 | uint32_t(p[i + 2]) << 16 | uint32_t(p[i + 3]) << 24;
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  switch (data.size() - i) {
    case 3: h ^= uint32_t(p[i + 2]) << 16; [[fallthrough]];
    case 2: h ^= uint32_t(p[i + 1]) << 8; [[fallthrough]];
    case 1: h ^= uint32_t(p[i]); h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

int32_t partition_for_key(std::string_view key, int32_t partitions) {
  return static_cast<int32_t>((murmur2(key) & 0x7fffffff) % static_cast<uint32_t>(partitions));
}

}  // namespace eddy::streams::runtime
