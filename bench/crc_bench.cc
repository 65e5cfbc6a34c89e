// CRC-32C throughput of each implementation (software, hardware crc32, pclmul and vpclmul
// folding, and the dispatching crc32c_extend) at 1 KB, 64 KB and 1 MB buffers held in cache.
// Each figure is the best of --rounds timed runs of about --seconds each, in GB/s (10^9 bytes
// per second), with the CPU seconds per GB it implies; an implementation this CPU lacks is
// listed as unavailable.
//
// Usage: crc_bench [--seconds S] [--rounds N] [--align A]
//   --seconds S  time per run (default 0.3)
//   --rounds N   runs per figure, the best is printed (default 3)
//   --align A    byte offset of the data from a 4096-byte boundary (default 0)
#include "core/record/crc32c.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <string>
#include <vector>

namespace {

using eddy::record::crc32c_extend;
namespace detail = eddy::record::detail;

struct implementation {
  const char* name;
  std::uint32_t (*extend)(std::uint32_t, const void*, std::size_t);
  bool available;
};

volatile std::uint32_t sink;

// Bytes per second of `extend` over [data, data + len): repeats calls, doubling their number
// until one batch takes at least `seconds`. Each call extends the previous CRC, so calls cannot
// overlap or be dropped.
double measure(const implementation& impl, const std::uint8_t* data, std::size_t len, double seconds) {
  using clock = std::chrono::steady_clock;
  std::uint32_t c = impl.extend(0, data, len);  // warm-up: page in, caches, dispatch
  std::size_t calls = 1;
  for (;;) {
    auto t0 = clock::now();
    for (std::size_t i = 0; i < calls; ++i) c = impl.extend(c, data, len);
    double dt = std::chrono::duration<double>(clock::now() - t0).count();
    sink = c;
    if (dt >= seconds) return double(calls) * double(len) / dt;
    // Aim straight for the target once the batch is long enough to time.
    if (dt > 0.01) calls = std::size_t(double(calls) * seconds / dt * 1.05) + 1;
    else calls *= 2;
  }
}

[[noreturn]] void usage() {
  std::fprintf(stderr, "usage: crc_bench [--seconds S] [--rounds N] [--align A]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.3;
  int rounds = 3;
  std::size_t align = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage();
    if (a == "--seconds") seconds = std::atof(argv[++i]);
    else if (a == "--rounds") rounds = std::atoi(argv[++i]);
    else if (a == "--align") align = std::size_t(std::atoi(argv[++i]));
    else usage();
  }
  if (seconds <= 0 || rounds < 1 || align >= 4096) usage();

  const implementation impls[] = {
      {"software", detail::crc32c_extend_software, true},
      {"hardware", detail::crc32c_extend_hardware, detail::crc32c_hardware_available()},
      {"pclmul", detail::crc32c_extend_pclmul, detail::crc32c_pclmul_available()},
      {"vpclmul", detail::crc32c_extend_vpclmul, detail::crc32c_vpclmul_available()},
      {"dispatching", crc32c_extend, true},
  };
  const std::size_t sizes[] = {1024, 64 * 1024, 1024 * 1024};

  const std::size_t max_size = sizes[std::size(sizes) - 1];
  auto* base = static_cast<std::uint8_t*>(::operator new(max_size + 4096, std::align_val_t{4096}));
  std::uint8_t* data = base + align;
  std::mt19937_64 rng(1);
  for (std::size_t i = 0; i < max_size; ++i) data[i] = std::uint8_t(rng());

  std::printf("CRC-32C throughput, GB/s (10^9 B/s), best of %d runs of %.2f s, data at offset %zu "
              "from a 4 KB boundary\n",
              rounds, seconds, align);
  std::printf("%-12s %12s %12s %12s   %s\n", "impl", "1 KB", "64 KB", "1 MB", "CPU s/GB at 1 MB");
  for (const auto& impl : impls) {
    if (!impl.available) {
      std::printf("%-12s %12s\n", impl.name, "unavailable");
      continue;
    }
    std::printf("%-12s", impl.name);
    double last = 0;
    for (std::size_t size : sizes) {
      double best = 0;
      for (int r = 0; r < rounds; ++r) {
        double bps = measure(impl, data, size, seconds);
        if (bps > best) best = bps;
      }
      last = best / 1e9;
      std::printf(" %12.2f", last);
      std::fflush(stdout);
    }
    std::printf("   %.4f\n", 1.0 / last);
  }
  ::operator delete(base, std::align_val_t{4096});
  return 0;
}
