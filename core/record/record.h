// One record of a v2 batch, as a view into the batch bytes (or into the reader's
// decompressed buffer). Nothing here owns memory: a `record` is valid as long as the
// batch_reader it came from.
//
// Record layout (all integers varint/zigzag unless noted):
//   length          varint   bytes after this field
//   attributes      int8     unused, 0
//   timestamp_delta varlong  from the batch base_timestamp
//   offset_delta    varint   from the batch base_offset
//   key_length      varint   -1 = null key
//   key             bytes
//   value_length    varint   -1 = null value
//   value           bytes
//   header_count    varint
//   headers         { key_length varint (>= 0), key, value_length varint (-1 = null), value }*
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string_view>

#include "core/record/record_error.h"

namespace eddy::record {

// Nullable byte string: std::nullopt is Kafka's null (length -1), distinct from empty.
using nullable_bytes = std::optional<std::string_view>;

struct record_header {
  std::string_view key;
  nullable_bytes value;

  friend bool operator==(const record_header&, const record_header&) = default;
};

// The headers of one record, decoded lazily from bytes the reader already validated.
class header_range {
 public:
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = record_header;
    using difference_type = std::ptrdiff_t;
    using pointer = const record_header*;
    // By value: `const record_header& x = *range.begin();` must not dangle with the iterator.
    using reference = record_header;

    iterator() = default;
    iterator(const std::uint8_t* p, const std::uint8_t* end, std::int32_t remaining);
    record_header operator*() const { return current_; }
    const record_header* operator->() const { return &current_; }
    iterator& operator++();
    void operator++(int) { ++*this; }
    bool operator==(const iterator& o) const { return remaining_ == o.remaining_; }

   private:
    void load();
    const std::uint8_t* p_ = nullptr;
    const std::uint8_t* end_ = nullptr;
    std::int32_t remaining_ = 0;
    record_header current_;
  };

  header_range() = default;
  header_range(const std::uint8_t* data, const std::uint8_t* end, std::int32_t count)
      : data_(data), end_(end), count_(count) {}
  std::int32_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  iterator begin() const { return iterator(data_, end_, count_); }
  iterator end() const { return iterator(nullptr, nullptr, 0); }

 private:
  const std::uint8_t* data_ = nullptr;
  const std::uint8_t* end_ = nullptr;
  std::int32_t count_ = 0;
};

struct record {
  std::int64_t offset = 0;     // base_offset + offset_delta
  std::int64_t timestamp = 0;  // base_timestamp + timestamp_delta (max_timestamp under log-append time)
  std::int32_t offset_delta = 0;
  std::int64_t timestamp_delta = 0;
  std::int8_t attributes = 0;
  nullable_bytes key;
  nullable_bytes value;
  header_range headers;
  std::size_t encoded_size = 0;  // including the length varint
};

// Decodes one record starting at `p`; on success advances `p` past it and fills
// `out` (offset/timestamp left relative: the caller adds the batch bases). Checks
// every length against `end` and that the record's fields fill `length` exactly.
// invalid_record on any malformation.
status decode_record(const std::uint8_t*& p, const std::uint8_t* end, record& out);

// The same checks as decode_record, with the same verdict, but only the deltas come out:
// the produce path validates every record and reads nothing else (several times cheaper
// per record than filling a `record`).
status check_record(const std::uint8_t*& p, const std::uint8_t* end, std::int32_t& offset_delta,
                    std::int64_t& timestamp_delta);

}  // namespace eddy::record
