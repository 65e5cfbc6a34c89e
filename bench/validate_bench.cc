// validate_bench: the produce path's per-record cost. Builds uncompressed batches the way a
// client sends them (librdkafka's shape: null key, no headers, timestamps a few ms apart,
// offset deltas 0..n-1) and times batch_reader::open(.., {.produced = true}), which the
// produce handler runs on every batch: the CRC-32C over the batch, then one pass that
// decodes and checks every record. Prints ns per record and CPU seconds per GB of batch
// bytes for each value size, best of --rounds runs of about --seconds each. The batch is
// opened again and again, so it is in cache: a broker reading it fresh from a socket pays
// more (crc_bench gives the CRC's share alone).
//
// Usage: validate_bench [--seconds S] [--rounds N] [--batch-bytes B] [--sizes 100,1024,...]
//   --batch-bytes B  bytes of records per batch (default 1000000, librdkafka's batch.size)
//   --iterations N   instead of timing, open each batch N times and print nothing but the
//                    record count (for `valgrind --tool=callgrind`, which counts instructions)
#include "core/record/batch_builder.h"
#include "core/record/batch_reader.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using namespace eddy::record;

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: validate_bench [--seconds S] [--rounds N] [--batch-bytes B] [--sizes 100,1024]"
               " [--iterations N]\n");
  std::exit(2);
}

std::vector<std::uint8_t> make_batch(std::size_t value_size, std::size_t batch_bytes) {
  batch_builder b;
  std::string value(value_size, 'v');
  for (std::size_t i = 0; i < value_size; ++i) value[i] = char('a' + i % 26);
  std::int64_t ts = 1'700'000'000'000;
  std::size_t n = std::max<std::size_t>(1, batch_bytes / (value_size + 8));
  for (std::size_t i = 0; i < n; ++i) b.add(ts + std::int64_t(i / 200), std::nullopt, std::string_view(value));
  auto built = b.build();
  if (!built) {
    std::fprintf(stderr, "validate_bench: cannot build a batch\n");
    std::exit(1);
  }
  return std::move(*built);
}

volatile std::int64_t sink;

// Records per second of open(produced) over `batch`.
double measure(const std::vector<std::uint8_t>& batch, std::int32_t records, double seconds) {
  using clock = std::chrono::steady_clock;
  std::size_t calls = 1;
  for (;;) {
    auto t0 = clock::now();
    for (std::size_t i = 0; i < calls; ++i) {
      auto r = batch_reader::open(batch, {.produced = true});
      if (!r) {
        std::fprintf(stderr, "validate_bench: a good batch was refused: %s\n", r.error().reason);
        std::exit(1);
      }
      sink = r->computed_max_timestamp();
    }
    double dt = std::chrono::duration<double>(clock::now() - t0).count();
    if (dt >= seconds) return double(calls) * records / dt;
    if (dt > 0.01) calls = std::size_t(double(calls) * seconds / dt * 1.05) + 1;
    else calls *= 2;
  }
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.3;
  int rounds = 3;
  std::size_t batch_bytes = 1'000'000;
  long iterations = 0;
  std::vector<std::size_t> sizes{100, 1024};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage();
    if (a == "--seconds") seconds = std::atof(argv[++i]);
    else if (a == "--rounds") rounds = std::atoi(argv[++i]);
    else if (a == "--batch-bytes") batch_bytes = std::size_t(std::atol(argv[++i]));
    else if (a == "--iterations") iterations = std::atol(argv[++i]);
    else if (a == "--sizes") {
      sizes.clear();
      std::string s = argv[++i];
      for (std::size_t at = 0; at < s.size();) {
        std::size_t comma = s.find(',', at);
        if (comma == std::string::npos) comma = s.size();
        sizes.push_back(std::size_t(std::atol(s.substr(at, comma - at).c_str())));
        at = comma + 1;
      }
    } else usage();
  }
  if (seconds <= 0 || rounds < 1 || batch_bytes < 64 || sizes.empty()) usage();
  for (std::size_t s : sizes)
    if (s == 0 || s > batch_bytes) usage();

  if (iterations > 0) {
    std::int64_t records = 0;
    for (std::size_t size : sizes) {
      auto batch = make_batch(size, batch_bytes);
      for (long i = 0; i < iterations; ++i) {
        auto r = batch_reader::open(batch, {.produced = true});
        if (!r) return 1;
        records += r->record_count();
      }
    }
    std::printf("%lld records\n", static_cast<long long>(records));
    return 0;
  }

  std::printf("batch_reader::open(produced): best of %d runs of %.2f s, batches of about %zu bytes\n", rounds,
              seconds, batch_bytes);
  std::printf("%-10s %10s %14s %12s %14s\n", "value", "records", "records/s", "ns/record", "CPU s/GB");
  for (std::size_t size : sizes) {
    auto batch = make_batch(size, batch_bytes);
    auto opened = batch_reader::open(batch, {.produced = true});
    if (!opened) return 1;
    std::int32_t records = opened->record_count();
    double best = 0;
    for (int r = 0; r < rounds; ++r) best = std::max(best, measure(batch, records, seconds));
    double bytes_per_record = double(batch.size()) / records;
    std::printf("%-10zu %10d %14.0f %12.2f %14.5f\n", size, records, best, 1e9 / best,
                1e9 / (best * bytes_per_record));
  }
  return 0;
}
