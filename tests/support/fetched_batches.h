// Test helper: walks the whole batches of one fetched partition's records, checking that
// each is valid (check_batch: CRC, counts) and starts where the one before ended.
#pragma once

#include <cstdint>

#include <gtest/gtest.h>

#include "core/record/batch_reader.h"

namespace eddy::test {

// Returns the offset after the last batch; on a bad or out-of-order batch records a test
// failure and returns -1. `records` is what batch_splitter takes (a fetched record set).
template <class Records>
std::int64_t walk_fetched_batches(const Records& records, std::int64_t next) {
  record::batch_splitter split(records);
  record::byte_span batch;
  while (split.next(batch)) {
    if (!record::check_batch(batch).ok()) {
      ADD_FAILURE() << "invalid batch at offset " << next;
      return -1;
    }
    record::batch_header_view v{batch.data()};
    if (v.base_offset() != next) {
      ADD_FAILURE() << "batch at offset " << v.base_offset() << ", expected " << next;
      return -1;
    }
    next = v.last_offset() + 1;
  }
  return next;
}

}  // namespace eddy::test
