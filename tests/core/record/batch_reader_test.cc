#include "core/record/batch_reader.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "core/record/batch_builder.h"
#include "core/record/compression.h"
#include "core/record/crc32c.h"
#include "core/record/varint.h"

namespace eddy::record {
namespace {

using protocol::error_code;
using bytes = std::vector<std::uint8_t>;

const compression all_codecs[] = {compression::none, compression::gzip, compression::snappy, compression::lz4,
                                  compression::zstd};

bytes build(batch_builder& b) {
  auto r = b.build();
  EXPECT_TRUE(r) << r.error().reason;
  return r ? std::move(*r) : bytes{};
}

// Recomputes the CRC after a test edits bytes, so deeper checks are reached.
void fix_crc(bytes& b) {
  be::store32(b.data() + batch_offsets::crc, crc32c(b.data() + batch_offsets::attributes, b.size() - batch_offsets::attributes));
}

// A batch with a record section written by hand (uncompressed), header patched.
bytes raw_batch(const bytes& records, std::int32_t count, std::int32_t last_delta) {
  bytes b(batch_header_size + records.size());  // (sized at once: GCC 12 misreports insert here)
  std::copy(records.begin(), records.end(), b.begin() + std::ptrdiff_t(batch_header_size));
  be::store32(b.data() + batch_offsets::batch_length, std::uint32_t(b.size() - batch_log_overhead));
  b[batch_offsets::magic] = 2;
  be::store32(b.data() + batch_offsets::last_offset_delta, std::uint32_t(last_delta));
  be::store64(b.data() + batch_offsets::producer_id, std::uint64_t(-1));
  be::store32(b.data() + batch_offsets::base_sequence, std::uint32_t(-1));
  be::store32(b.data() + batch_offsets::record_count, std::uint32_t(count));
  fix_crc(b);
  return b;
}

TEST(batch_reader, round_trips_every_codec_with_nulls_and_headers) {
  for (compression c : all_codecs) {
    batch_builder b({.codec = c, .base_offset = 1000, .producer_id = 9, .producer_epoch = 1, .base_sequence = 0});
    std::string big(5000, 'x');
    const record_header hdrs[] = {{"trace", "abc"}, {"null-value", std::nullopt}, {"", ""}};
    b.add(1'700'000'000'000, "key-0", "value-0");
    b.add(1'700'000'000'005, std::nullopt, "value-1", hdrs);
    b.add(1'699'999'999'000, "key-2", std::nullopt);
    b.add(1'700'000'000'001, "", "");
    b.add(1'700'000'000'002, "k", big);
    bytes batch = build(b);

    auto r = batch_reader::open(batch, {.produced = true});
    ASSERT_TRUE(r) << compression_name(c) << ": " << r.error().reason;
    EXPECT_EQ(r->record_count(), 5);
    EXPECT_EQ(r->header().codec(), c);
    EXPECT_EQ(r->computed_max_timestamp(), 1'700'000'000'005);

    std::vector<record> got;
    std::vector<std::vector<record_header>> got_headers;
    for (const record& rec : *r) {
      got.push_back(rec);
      got_headers.emplace_back(rec.headers.begin(), rec.headers.end());
    }
    ASSERT_EQ(got.size(), 5u) << compression_name(c);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(got[i].offset, 1000 + i);
    EXPECT_EQ(got[0].key, "key-0");
    EXPECT_EQ(got[0].value, "value-0");
    EXPECT_EQ(got[0].timestamp, 1'700'000'000'000);
    EXPECT_FALSE(got[1].key.has_value());
    EXPECT_EQ(got[1].value, "value-1");
    EXPECT_EQ(got[1].timestamp, 1'700'000'000'005);
    ASSERT_EQ(got_headers[1].size(), 3u);
    EXPECT_EQ(got_headers[1][0], (record_header{"trace", "abc"}));
    EXPECT_EQ(got_headers[1][1].key, "null-value");
    EXPECT_FALSE(got_headers[1][1].value.has_value());
    EXPECT_EQ(got_headers[1][2], (record_header{"", ""}));
    EXPECT_EQ(got[2].key, "key-2");
    EXPECT_FALSE(got[2].value.has_value());
    EXPECT_EQ(got[2].timestamp, 1'699'999'999'000);
    EXPECT_TRUE(got[3].key.has_value());
    EXPECT_EQ(got[3].key->size(), 0u);
    EXPECT_EQ(got[3].value, "");
    EXPECT_EQ(got[4].value, big);
    EXPECT_TRUE(got_headers[0].empty());
  }
}

TEST(batch_reader, reader_survives_move) {
  batch_builder b({.codec = compression::zstd});
  b.add(1, "a", "b");
  bytes batch = build(b);
  auto r = batch_reader::open(batch);
  ASSERT_TRUE(r);
  batch_reader moved = std::move(*r);
  EXPECT_EQ(moved.begin()->value, "b");
}

TEST(batch_reader, log_append_time_uses_max_timestamp) {
  batch_builder b({.log_append_time = true});
  b.add(10, "a", "b");
  b.add(20, "a", "b");
  bytes batch = build(b);
  auto r = batch_reader::open(batch);
  ASSERT_TRUE(r);
  for (const record& rec : *r) EXPECT_EQ(rec.timestamp, 20);
}

TEST(batch_reader, crc_mismatch_is_corrupt_message) {
  batch_builder b;
  b.add(1, "key", "value");
  bytes batch = build(b);
  for (std::size_t i : {batch_offsets::attributes, batch_offsets::record_count, batch.size() - 1}) {
    bytes bad = batch;
    bad[i] ^= 0x40;
    EXPECT_EQ(validate_batch(bad).code, error_code::corrupt_message) << i;
  }
  // base_offset and partition_leader_epoch are outside the CRC.
  bytes moved = batch;
  set_base_offset(moved.data(), 12345);
  moved[batch_offsets::partition_leader_epoch] = 7;
  EXPECT_TRUE(validate_batch(moved));
}

TEST(batch_reader, legacy_magic_is_unsupported_format) {
  batch_builder b;
  b.add(1, "key", "value");
  bytes batch = build(b);
  for (std::uint8_t magic : {0, 1}) {
    bytes old = batch;
    old[batch_offsets::magic] = magic;
    EXPECT_EQ(validate_batch(old).code, error_code::unsupported_for_message_format);
    // Even when the buffer is too short for a v2 header.
    bytes tiny(old.begin(), old.begin() + 30);
    EXPECT_EQ(validate_batch(tiny).code, error_code::unsupported_for_message_format);
  }
  bytes future = batch;
  future[batch_offsets::magic] = 3;
  EXPECT_EQ(validate_batch(future).code, error_code::corrupt_message);
}

TEST(batch_reader, size_fields_must_match) {
  batch_builder b;
  b.add(1, "key", "value");
  bytes batch = build(b);
  // Truncated anywhere.
  for (std::size_t n = 0; n < batch.size(); n += 7) {
    bytes cut(batch.begin(), batch.begin() + n);
    EXPECT_FALSE(validate_batch(cut)) << n;
  }
  // Lying length fields (too big, too small, negative).
  for (std::uint32_t len : {0x7fffffffu, 0xffffffffu, 10u, std::uint32_t(batch.size() - 11)}) {
    bytes bad = batch;
    be::store32(bad.data() + batch_offsets::batch_length, len);
    EXPECT_EQ(validate_batch(bad).code, error_code::corrupt_message) << len;
  }
  // Extra trailing bytes beyond batch_length.
  bytes longer = batch;
  longer.push_back(0);
  EXPECT_EQ(validate_batch(longer).code, error_code::corrupt_message);
}

TEST(batch_reader, count_must_match_last_offset_delta_when_produced) {
  batch_builder b;
  b.add(1, "a", "1");
  b.add(2, "b", "2");
  bytes batch = build(b);
  bytes bad = batch;
  be::store32(bad.data() + batch_offsets::last_offset_delta, 5);
  fix_crc(bad);
  EXPECT_EQ(validate_batch(bad, {.produced = true}).code, error_code::invalid_record);
  // Allowed in the log (compaction can leave gaps before last_offset_delta).
  EXPECT_TRUE(validate_batch(bad));
  bad = batch;
  be::store32(bad.data() + batch_offsets::last_offset_delta, 0);
  fix_crc(bad);
  EXPECT_EQ(validate_batch(bad).code, error_code::invalid_record);
}

TEST(batch_reader, record_count_must_match_records) {
  batch_builder b;
  b.add(1, "a", "1");
  b.add(2, "b", "2");
  bytes batch = build(b);
  for (std::int32_t count : {0, 1, 3, 1000, -1, 0x7fffffff}) {
    bytes bad = batch;
    be::store32(bad.data() + batch_offsets::record_count, std::uint32_t(count));
    be::store32(bad.data() + batch_offsets::last_offset_delta, std::uint32_t(count > 0 ? count - 1 : 0));
    fix_crc(bad);
    EXPECT_EQ(validate_batch(bad, {.produced = true}).code, error_code::invalid_record) << count;
    EXPECT_EQ(validate_batch(bad).code, error_code::invalid_record) << count;
  }
}

TEST(batch_reader, compressed_count_mismatch_is_invalid_record) {
  for (compression c : {compression::gzip, compression::lz4}) {
    batch_builder b({.codec = c});
    b.add(1, "a", "1");
    bytes batch = build(b);
    be::store32(batch.data() + batch_offsets::record_count, 2);
    be::store32(batch.data() + batch_offsets::last_offset_delta, 1);
    fix_crc(batch);
    EXPECT_EQ(validate_batch(batch, {.produced = true}).code, error_code::invalid_record);
  }
}

TEST(batch_reader, bad_record_encodings_are_invalid_record) {
  // Each entry: a single hand-written record section with one flaw.
  const std::vector<bytes> bad_records = {
      {14, 0, 0, 0, 2, 'a', 1},                // record length says 7, only 6 bytes follow
      {12, 0, 0, 0, 2, 'a', 1, 0},             // length 6 but fields take 7 bytes
      {16, 0, 0, 0, 2, 'a', 1, 0, 0},          // length 8: one stray byte inside the record
      {14, 0, 0, 0, 20, 'a', 1, 0},            // key length 10 overruns the record
      {14, 0, 0, 0, 3, 'a', 1, 0},             // key length -2
      {14, 0, 0, 0, 2, 'a', 1, 1},             // header count 1 but no header bytes
      {14, 0, 0, 0, 2, 'a', 1, 3},             // header count -2
      {20, 0, 0, 0, 2, 'a', 1, 2, 1, 1, 0},    // header with null key (length -1)
      {1},                                     // negative record length
      {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},    // overlong varint
      {14, 0, 0, 2, 2, 'a', 1, 0},             // offset delta 1 for the first record
  };
  for (std::size_t i = 0; i < bad_records.size(); ++i) {
    bytes batch = raw_batch(bad_records[i], 1, 0);
    EXPECT_EQ(validate_batch(batch, {.produced = true}).code, error_code::invalid_record) << i;
  }
  // Sanity: the unflawed record is accepted.
  EXPECT_TRUE(validate_batch(raw_batch({14, 0, 0, 0, 2, 'a', 1, 0}, 1, 0), {.produced = true}));
  // Trailing bytes after the last record.
  EXPECT_EQ(validate_batch(raw_batch({14, 0, 0, 0, 2, 'a', 1, 0, 0}, 1, 0)).code, error_code::invalid_record);
}

TEST(batch_reader, idempotent_batch_needs_a_sequence) {
  batch_builder b({.producer_id = 5, .producer_epoch = 0, .base_sequence = -1});
  b.add(1, "a", "b");
  bytes batch = build(b);
  EXPECT_EQ(validate_batch(batch, {.produced = true}).code, error_code::invalid_record);
  EXPECT_TRUE(validate_batch(batch));
}

TEST(batch_reader, unknown_codec_is_unsupported_compression_type) {
  batch_builder b;
  b.add(1, "a", "b");
  bytes batch = build(b);
  be::store16(batch.data() + batch_offsets::attributes, 6);
  fix_crc(batch);
  EXPECT_EQ(validate_batch(batch).code, error_code::unsupported_compression_type);
}

TEST(batch_reader, compressed_payload_bounded_by_option) {
  batch_builder b({.codec = compression::zstd});
  std::string big(1 << 20, 'z');
  b.add(1, "a", big);
  bytes batch = build(b);
  EXPECT_LT(batch.size(), 4096u);
  EXPECT_EQ(validate_batch(batch, {.max_decompressed_size = 64 << 10}).code, error_code::message_too_large);
  EXPECT_TRUE(validate_batch(batch, {.max_decompressed_size = 2 << 20}));
}

TEST(batch_reader, corrupt_compressed_payload_is_corrupt_message) {
  batch_builder b({.codec = compression::gzip});
  b.add(1, "a", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
  bytes batch = build(b);
  batch[batch_header_size + 12] ^= 0xff;
  fix_crc(batch);
  EXPECT_FALSE(validate_batch(batch));
}

TEST(batch_reader, random_mutations_never_crash) {
  std::mt19937 rng(99);
  for (compression c : all_codecs) {
    batch_builder b({.codec = c});
    for (int i = 0; i < 10; ++i) b.add(i, "key" + std::to_string(i), std::string(i * 10, 'v'), {{"h", "v"}});
    bytes batch = build(b);
    for (int iter = 0; iter < 300; ++iter) {
      bytes m = batch;
      int flips = 1 + int(rng() % 4);
      for (int f = 0; f < flips; ++f) m[batch_offsets::attributes + rng() % (m.size() - batch_offsets::attributes)] = std::uint8_t(rng());
      if (iter % 2) fix_crc(m);  // half the time, reach the record decoder
      auto r = batch_reader::open(m, {.max_decompressed_size = 1 << 16});
      if (r) {
        int n = 0;
        for (const record& rec : *r) {
          n += int(rec.key ? rec.key->size() : 0);
          for (const auto& h : rec.headers) n += int(h.key.size());
        }
        (void)n;
      }
    }
  }
  for (int iter = 0; iter < 500; ++iter) {
    bytes junk(rng() % 200);
    for (auto& x : junk) x = std::uint8_t(rng());
    (void)validate_batch(junk);
  }
}

// The produce path checks records with check_record, everything else decodes them with
// decode_record: the two must agree on every input, good or bad, and stop at the same byte.
TEST(batch_reader, check_record_agrees_with_decode_record) {
  batch_builder b;
  for (int i = 0; i < 20; ++i)
    b.add(i * 1000003LL, i % 3 ? std::optional<std::string>("key" + std::to_string(i)) : std::nullopt,
          std::string(std::size_t(i * 37), 'v'), {{"h", "v"}, {"h2", std::string(200, 'w')}});
  bytes batch = build(b);
  bytes records(batch.begin() + std::ptrdiff_t(batch_header_size), batch.end());
  std::mt19937 rng(7);
  int bad = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    bytes m = records;
    int flips = iter == 0 ? 0 : 1 + int(rng() % 3);
    for (int f = 0; f < flips; ++f) m[rng() % m.size()] = std::uint8_t(rng());
    if (iter % 5 == 0 && !m.empty()) m.resize(rng() % m.size());  // truncated too
    const std::uint8_t* pd = m.data();
    const std::uint8_t* pc = m.data();
    const std::uint8_t* end = m.data() + m.size();
    while (pd < end) {
      record rec;
      std::int32_t offset_delta = 0;
      std::int64_t timestamp_delta = 0;
      status d = decode_record(pd, end, rec);
      status c = check_record(pc, end, offset_delta, timestamp_delta);
      ASSERT_EQ(d.code, c.code) << "iteration " << iter;
      ASSERT_STREQ(d.reason, c.reason) << "iteration " << iter;
      ASSERT_EQ(pd, pc) << "iteration " << iter;
      if (!d) {
        ++bad;
        break;
      }
      ASSERT_EQ(rec.offset_delta, offset_delta);
      ASSERT_EQ(rec.timestamp_delta, timestamp_delta);
    }
  }
  EXPECT_GT(bad, 500);  // the mutations did reach the error paths (715 of 3000 with this seed)
}

// Varints of one to three bytes take a shortcut; it must agree with the general decoder at
// every boundary, and a truncated encoding must fail there too.
TEST(varint, short_encodings_match_the_general_decoder) {
  const std::int64_t values[] = {0, 1, -1, 63, -64, 64, -65, 8191, -8192, 8192, -8193, 1048575, -1048576, 1048576,
                                 -1048577, 2147483647, -2147483648LL};
  for (std::int64_t v : values) {
    bytes enc;
    varint::append_varlong(enc, v);
    const std::uint8_t* p = enc.data();
    std::int64_t out = 0;
    ASSERT_TRUE(varint::read_varlong(p, enc.data() + enc.size(), out)) << v;
    EXPECT_EQ(out, v);
    EXPECT_EQ(p, enc.data() + enc.size());
    const std::uint8_t* q = enc.data();
    std::int32_t out32 = 0;
    ASSERT_TRUE(varint::read_varint(q, enc.data() + enc.size(), out32)) << v;
    EXPECT_EQ(out32, std::int32_t(v));
    for (std::size_t cut = 0; cut < enc.size(); ++cut) {
      const std::uint8_t* t = enc.data();
      EXPECT_FALSE(varint::read_varlong(t, enc.data() + cut, out)) << v << " cut at " << cut;
      EXPECT_EQ(t, enc.data());
    }
  }
}

TEST(batch_splitter, splits_concatenated_batches_and_tolerates_partial_tail) {
  bytes buf;
  std::vector<std::size_t> sizes;
  for (int i = 0; i < 3; ++i) {
    batch_builder b({.base_offset = i * 10});
    for (int j = 0; j <= i; ++j) b.add(j, "k", "v");
    bytes one = build(b);
    sizes.push_back(one.size());
    buf.insert(buf.end(), one.begin(), one.end());
  }
  std::vector<byte_span> out;
  std::size_t tail = 99;
  ASSERT_TRUE(split_batches(buf, out, &tail));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(tail, 0u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i].size(), sizes[i]);
    EXPECT_TRUE(validate_batch(out[i]));
    EXPECT_EQ(batch_header_view{out[i].data()}.base_offset(), i * 10);
  }
  // Cut inside the last batch: two batches, the rest reported as a partial tail.
  for (std::size_t cut : {std::size_t(1), std::size_t(11), std::size_t(30), sizes[2] - 1}) {
    out.clear();
    bytes partial(buf.begin(), buf.end() - std::ptrdiff_t(cut));
    ASSERT_TRUE(split_batches(partial, out, &tail)) << cut;
    EXPECT_EQ(out.size(), 2u) << cut;
    EXPECT_EQ(tail, sizes[2] - cut) << cut;
  }
  out.clear();
  ASSERT_TRUE(split_batches({}, out, &tail));
  EXPECT_TRUE(out.empty());
}

TEST(batch_splitter, impossible_length_is_an_error_after_good_batches) {
  batch_builder b;
  b.add(1, "k", "v");
  bytes one = build(b);
  bytes buf = one;
  bytes bad = one;
  be::store32(bad.data() + batch_offsets::batch_length, 0xfffffff0u);  // negative
  buf.insert(buf.end(), bad.begin(), bad.end());
  std::vector<byte_span> out;
  std::size_t tail = 0;
  auto st = split_batches(buf, out, &tail);
  EXPECT_EQ(st.code, error_code::corrupt_message);
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(tail, bad.size());

  bytes small = one;
  be::store32(small.data() + batch_offsets::batch_length, 20);  // below the v2 minimum
  batch_splitter s(small);
  byte_span span;
  EXPECT_FALSE(s.next(span));
  EXPECT_EQ(s.error().code, error_code::corrupt_message);
}

}  // namespace
}  // namespace eddy::record
