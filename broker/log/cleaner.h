// Log compaction for cleanup.policy=compact: rewrites closed segments keeping the latest
// record per key. Offsets never change (a rewritten batch keeps its base offset and its
// records keep their offsets; gaps are fine), the active segment is never touched, and
// nothing at or above the last stable offset is touched (open transactions decide later).
//
// One pass over a partition:
//   1. The cleanable range is the closed segments below min(active base, LSO) whose max
//      timestamp is older than min.compaction.lag.ms.
//   2. Key map: key -> latest offset, over the dirty part of that range (from the offset
//      the last completed pass reached). Aborted transactional batches are ignored.
//   3. Each cleanable segment is rewritten, in offset order, into "<base>.*.cleaned" files,
//      then swapped in (rename to ".swap", then over the originals; a crash mid-swap is
//      finished at startup by partition_log). A record is kept when no later offset has
//      its key. A kept tombstone (null value) is dropped once its batch is older than
//      delete.retention.ms. Batches of aborted transactions are dropped entirely.
//      A batch whose records all survive is copied byte for byte; otherwise it is rebuilt
//      with core/record's builder (same base offset, codec, producer fields); a batch
//      with no surviving record is dropped.
//   4. Control batches (transaction markers) are kept while needed: a marker is dropped
//      only when it is older than delete.retention.ms AND no transactional data batch of
//      its producer survives between its previous marker and it (so recovery never sees
//      transactional data without its marker, which would look like an open transaction
//      and pin the LSO).
// Work per call is bounded by a byte budget; an unfinished pass is redone later.
//
// Thread-safety: runs on the event-loop thread (from log_manager::tick), like every
// other mutation of a partition_log.
#pragma once

#include <cstdint>

#include "broker/log/partition_log.h"

namespace eddy::broker::log {

struct clean_stats {
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;
  std::uint64_t segments_rewritten = 0;
  std::uint64_t records_removed = 0;
  bool pass_completed = false;
};

// True when a pass is worth running: at least half of the cleanable bytes are new since
// the last completed pass (Kafka's default min.cleanable.dirty.ratio of 0.5), or a
// retained tombstone/marker's delete.retention.ms has expired.
bool needs_cleaning(const partition_log& log, std::int64_t now_ms);

// Runs (part of) one compaction pass over `log`. `budget_bytes` bounds the bytes of
// segments rewritten in this call.
result<clean_stats> clean_partition(partition_log& log, std::int64_t now_ms, std::int64_t budget_bytes);

}  // namespace eddy::broker::log
