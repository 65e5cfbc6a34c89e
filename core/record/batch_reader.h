// Reading record batches (magic v2) from bytes: cheap integrity checks for the log,
// full validation for the produce path, and record iteration for internal topics.
//
//   split_batches / batch_splitter  walk a buffer of concatenated batches by their
//                                   length fields only (no CRC), tolerating a partial
//                                   trailing batch as fetch responses may end in one.
//   check_batch                     size fields, magic and CRC-32C; no record decode.
//   batch_reader::open              check_batch + decompression (bounded) + decoding of
//                                   every record in one pass; then iterate records.
//
// Error mapping (protocol::error_code):
//   corrupt_message                 bad size fields, CRC mismatch, undecompressable payload
//   unsupported_for_message_format  magic 0 or 1
//   unsupported_compression_type    codec 5..7
//   invalid_record                  record count / offset deltas / record encoding wrong
//   message_too_large               decompressed records exceed read_options' limit
//
// Thread-safety: a batch_reader is immutable after open(); share it freely for reads.
//
// Example (produce path):
//   auto r = batch_reader::open(batch_bytes, {.produced = true});
//   if (!r) return r.error().code;
//   for (const record& rec : *r) use(rec.offset, rec.key, rec.value);
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/record/batch_header.h"
#include "core/record/record.h"
#include "core/record/record_error.h"

namespace eddy::record {

using byte_span = std::span<const std::uint8_t>;

// Iterates complete batches in a buffer by their batch_length fields. Stops at the
// first batch that does not fit (a partial tail, not an error) or at a length field
// that cannot be right (corrupt_message in error()).
//
//   batch_splitter s(buf);
//   byte_span b;
//   while (s.next(b)) append(b);
//   if (!s.error()) ...; s.trailing_bytes() == partial tail size
class batch_splitter {
 public:
  explicit batch_splitter(byte_span buffer) : buf_(buffer) {}
  // Sets `batch` to the next complete batch and returns true; false at the end.
  bool next(byte_span& batch);
  // Failed status when a length field was impossible (negative or below the minimum).
  const status& error() const { return error_; }
  // Bytes left unconsumed: the partial trailing batch (or the bad one on error).
  std::size_t trailing_bytes() const { return buf_.size() - pos_; }
  std::size_t consumed_bytes() const { return pos_; }

 private:
  byte_span buf_;
  std::size_t pos_ = 0;
  status error_;
};

// Appends every complete batch of `buffer` to `out`. `trailing_bytes` (optional)
// receives the size of a partial trailing batch. Fails only on impossible lengths,
// after appending the good batches before it.
status split_batches(byte_span buffer, std::vector<byte_span>& out, std::size_t* trailing_bytes = nullptr);

// Integrity of one whole batch (exactly `batch.size()` bytes): header present,
// batch_length == size - 12, magic 2, CRC-32C over [attributes, end) matches.
status check_batch(byte_span batch);

struct read_options {
  // Produce-path strictness: at least one record, record_count == last_offset_delta + 1,
  // offset deltas exactly 0..n-1, no control batch checks here (the handler decides).
  // When false (log / compacted data): deltas only need to increase and stay within
  // last_offset_delta.
  bool produced = false;
  // Upper bound on decompressed record bytes (decompression bomb guard).
  std::size_t max_decompressed_size = std::size_t(64) << 20;
};

class batch_reader {
 public:
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = record;
    using difference_type = std::ptrdiff_t;
    using pointer = const record*;
    // By value: `const record& x = *range.begin();` must not dangle with the iterator.
    using reference = record;

    iterator() = default;
    record operator*() const { return current_; }
    const record* operator->() const { return &current_; }
    iterator& operator++();
    void operator++(int) { ++*this; }
    bool operator==(const iterator& o) const { return remaining_ == o.remaining_; }

   private:
    friend class batch_reader;
    iterator(const batch_reader* owner, const std::uint8_t* p, std::int32_t remaining);
    void load();
    const batch_reader* owner_ = nullptr;
    const std::uint8_t* p_ = nullptr;
    std::int32_t remaining_ = 0;
    record current_;
  };

  // Validates `batch` fully (see the file comment). The reader refers to `batch`'s
  // bytes for uncompressed batches: keep them alive while using the reader.
  static result<batch_reader> open(byte_span batch, const read_options& options = {});

  batch_header_view header() const { return batch_header_view{batch_.data()}; }
  byte_span bytes() const { return batch_; }
  std::int32_t record_count() const { return header().record_count(); }
  // Largest record timestamp seen while decoding (-1 for an empty batch).
  std::int64_t computed_max_timestamp() const { return computed_max_timestamp_; }
  // Size of the (decompressed) records section.
  std::size_t records_size() const { return std::size_t(records_end_ - records_begin_); }

  iterator begin() const { return iterator(this, records_begin_, record_count()); }
  iterator end() const { return iterator(); }

  batch_reader(batch_reader&&) noexcept;
  batch_reader& operator=(batch_reader&&) noexcept;
  batch_reader(const batch_reader&) = delete;
  batch_reader& operator=(const batch_reader&) = delete;

 private:
  batch_reader() = default;
  byte_span batch_;
  std::vector<std::uint8_t> decompressed_;  // empty for codec none
  const std::uint8_t* records_begin_ = nullptr;
  const std::uint8_t* records_end_ = nullptr;
  std::int64_t computed_max_timestamp_ = -1;
};

// Convenience: batch_reader::open without keeping the reader.
status validate_batch(byte_span batch, const read_options& options = {});

}  // namespace eddy::record
