// Helpers for the broker/log tests: a temporary directory per test, batch builders
// over core/record's batch_builder, and reading a partition log's values back.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "broker/log/partition_log.h"
#include "core/record/batch_builder.h"
#include "core/record/batch_reader.h"
#include "core/record/control_record.h"

namespace eddy::broker::log::testing {

class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "eddy-log-test-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A stand-in event loop for the log's background threads (writer, reader, admin): what they
// post queues up here and runs when the test says so.
struct fake_loop {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> posted;
  std::function<void(std::function<void()>)> post() {
    return [this](std::function<void()> f) {
      {
        std::lock_guard lk(mu);
        posted.push_back(std::move(f));
      }
      cv.notify_all();
    };
  }
  std::size_t size() {
    std::lock_guard lk(mu);
    return posted.size();
  }
  // Runs everything posted so far; returns how many ran.
  int run() {
    std::deque<std::function<void()>> now;
    {
      std::lock_guard lk(mu);
      now.swap(posted);
    }
    for (auto& f : now) f();
    return int(now.size());
  }
  // Runs the first posted function, waiting up to 10 s for one; false if none came.
  bool run_one() {
    std::function<void()> f;
    {
      std::unique_lock lk(mu);
      if (!cv.wait_for(lk, std::chrono::seconds(10), [&] { return !posted.empty(); })) return false;
      f = std::move(posted.front());
      posted.pop_front();
    }
    f();
    return true;
  }
};

struct batch_spec {
  int records = 1;
  std::int64_t timestamp = 1000;
  std::string key = "k";
  std::string value = "value";
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::int32_t base_sequence = -1;
  bool transactional = false;
};

inline std::vector<std::uint8_t> make_batch(const batch_spec& s) {
  record::batch_builder b({.producer_id = s.producer_id,
                           .producer_epoch = s.producer_epoch,
                           .base_sequence = s.base_sequence,
                           .transactional = s.transactional});
  for (int i = 0; i < s.records; ++i) b.add(s.timestamp + i, s.key, s.value);
  auto r = b.build();
  EXPECT_TRUE(r.ok());
  return std::move(r).value();
}

inline std::vector<std::uint8_t> make_batch(int records = 1, std::int64_t timestamp = 1000, std::string value = "value") {
  batch_spec s;
  s.records = records;
  s.timestamp = timestamp;
  s.value = std::move(value);
  return make_batch(s);
}

// One record per key: key -> value (nullopt value = tombstone).
inline std::vector<std::uint8_t> make_keyed_batch(const std::vector<std::pair<std::string, std::optional<std::string>>>& kv,
                                                  std::int64_t timestamp = 1000) {
  record::batch_builder b;
  for (auto& [k, v] : kv) {
    if (v) b.add(timestamp, k, *v);
    else b.add(timestamp, k, std::nullopt);
  }
  auto r = b.build();
  EXPECT_TRUE(r.ok());
  return std::move(r).value();
}

inline std::vector<std::uint8_t> make_marker(std::int64_t producer_id, bool commit, std::int64_t timestamp = 1000) {
  auto r = record::build_marker_batch({.producer_id = producer_id,
                                       .producer_epoch = 0,
                                       .type = commit ? record::control_type::commit : record::control_type::abort,
                                       .coordinator_epoch = 0,
                                       .timestamp = timestamp});
  EXPECT_TRUE(r.ok());
  return std::move(r).value();
}

inline std::vector<std::uint8_t> make_txn_batch(std::int64_t producer_id, int records = 1, std::int64_t timestamp = 1000) {
  batch_spec s;
  s.records = records;
  s.timestamp = timestamp;
  s.producer_id = producer_id;
  s.producer_epoch = 0;
  s.base_sequence = 0;
  s.transactional = true;
  return make_batch(s);
}

inline std::uintmax_t file_size(const std::filesystem::path& p) { return std::filesystem::file_size(p); }

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void append_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::app);
  f << bytes;
}

inline void flip_byte(const std::filesystem::path& p, std::uintmax_t pos) {
  std::fstream f(p, std::ios::binary | std::ios::in | std::ios::out);
  f.seekg(std::streamoff(pos));
  char c;
  f.get(c);
  f.seekp(std::streamoff(pos));
  f.put(char(c ^ 0x5a));
}

// Every record's value from offset 0 to the high watermark, read in 1 MiB fetches (checks
// that offsets are contiguous and each batch decodes).
inline std::vector<std::string> read_values(const partition_log& log) {
  std::vector<std::string> out;
  while (std::int64_t(out.size()) < log.high_watermark()) {
    auto r = log.read(std::int64_t(out.size()), 1 << 20, log.high_watermark());
    EXPECT_TRUE(r.ok()) << r.error().message;
    if (!r.ok() || r->records.empty()) break;
    record::batch_splitter s(r->records);
    record::byte_span b;
    while (s.next(b)) {
      auto rd = record::batch_reader::open(b, {});
      EXPECT_TRUE(rd.ok()) << "batch at offset " << out.size();
      if (!rd.ok()) return out;
      for (const auto& rec : *rd) {
        EXPECT_EQ(rec.offset, std::int64_t(out.size()));
        out.emplace_back(rec.value.value_or(""));
      }
    }
  }
  return out;
}

}  // namespace eddy::broker::log::testing
