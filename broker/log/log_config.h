// Per-topic log configuration with Kafka's names and defaults, parsed from string maps in
// two spellings: topic configs as CreateTopics / DescribeConfigs use them
// ("segment.bytes", "retention.ms", ...) and the broker's config file names for the
// defaults ("log.segment.bytes", "log.retention.ms", "log.roll.hours", "message.max.bytes",
// ...). A topic's effective config = broker defaults overlaid with the topic's overrides;
// only the overrides are persisted, so changing a broker default moves every topic that
// did not override it (as in Kafka).
//
// Broker-only log settings (not topic configs):
//   log.flush.strict=true|false (default false). When true, acks=all produces are
//     acknowledged only after the data is fsynced (group commit by a background flusher
//     thread; see flusher.h). When false (Kafka's default), durability comes from the page
//     cache plus the flush.messages / flush.ms policy, whose defaults mean "never".
//   log.pagecache.window.bytes (default 32 MiB, 0 = off): how much of each active segment's
//     tail stays in the page cache; older bytes are written back and evicted so appends
//     reuse those pages (see segment::recycle_page_cache for why).
//   log.write.direct=true|false (default true): append with O_DIRECT (block-aligned writes
//     that bypass the page cache; the fallback where refused is buffered writes).
//   log.write.behind=auto|true|false (default auto): large appends are written by a
//     background thread while the event loop goes on (see write_behind.h); producers are
//     still answered only once their batch is written. With auto the produce handler has
//     the loop write a large batch itself when nobody else is waiting for the loop (one
//     connection alone for 20 ms, its next request not yet here): that spares two thread
//     hand-offs per write, which cost more CPU than the overlap gains when the loop has
//     nothing else to do. false: every append is written on the loop.
//   log.tail.cache.bytes (default 128 MiB, 0 = off): memory shared by every partition for
//     its newest batches, so consumers at the tail read memory, not the disk (see
//     tail_cache.h).
//   log.flush.scheduler.interval.ms: accepted (Kafka configs carry it) and not used: the
//     broker checks the flush.ms policy at every tick (100 ms), so flush.ms works on its
//     own, where Kafka would also need this interval set (its default is "never").
//   log.retention.check.interval.ms (default 5 min): log_manager::tick applies retention
//     at the first tick, then at this interval.
//   log.offline.retry.ms (default 5000, -1 = never): a partition that a failed write took
//     offline (a full disk, say) is reopened from disk after this long, and again at twice
//     the interval each time it fails again soon after (see log_manager::tick). Kafka has
//     no such setting: it keeps a failed log directory offline until a restart (-1).
//
// Thread-safety: plain values.
//
// Example:
//   auto cfg = log_config::parse_topic({{"cleanup.policy", "compact"}}, broker_defaults);
//   if (!cfg) answer(error_code::invalid_config, cfg.error().message);
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "broker/log/result.h"

namespace eddy::broker::log {

using string_map = std::map<std::string, std::string, std::less<>>;

inline constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();

struct log_config {
  std::int64_t segment_bytes = 1LL << 30;                    // segment.bytes
  std::int64_t segment_ms = 7LL * 24 * 3600 * 1000;          // segment.ms
  std::int64_t retention_ms = 7LL * 24 * 3600 * 1000;        // retention.ms, -1 = infinite
  std::int64_t retention_bytes = -1;                         // retention.bytes, -1 = infinite
  std::int64_t max_message_bytes = 1048588;                  // max.message.bytes
  bool cleanup_delete = true;                                // cleanup.policy contains delete
  bool cleanup_compact = false;                              // cleanup.policy contains compact
  std::int64_t delete_retention_ms = 24LL * 3600 * 1000;     // delete.retention.ms
  std::int64_t min_compaction_lag_ms = 0;                    // min.compaction.lag.ms
  std::int64_t index_interval_bytes = 4096;                  // index.interval.bytes
  std::int64_t segment_index_bytes = 10LL * 1024 * 1024;     // segment.index.bytes
  std::int64_t flush_messages = never;                       // flush.messages
  std::int64_t flush_ms = never;                             // flush.ms
  bool log_append_time = false;                              // message.timestamp.type
  // Broker-wide, not a topic config: log.pagecache.window.bytes (Eddy's own setting). Each
  // active segment keeps about this much of its tail in the page cache and evicts what is
  // behind it once written back (see segment::recycle_page_cache); 0 = leave it all to the
  // kernel, as Kafka does.
  std::int64_t pagecache_window_bytes = 32LL << 20;
  // Broker-wide: log.write.direct (Eddy's own). Appends use O_DIRECT where the file system
  // allows it (see segment::direct_append); false = buffered writes, as Kafka does.
  bool write_direct = true;

  // Topic-name overrides on top of `base`. Unknown names and bad values are errors
  // (code invalid_config, message naming the key and the accepted range).
  static result<log_config> parse_topic(const string_map& overrides, const log_config& base);
  // Broker properties (log.* names) on top of Kafka's defaults. Keys that are not log
  // settings are ignored: the same file configures the rest of the broker.
  static result<log_config> parse_broker(const string_map& properties);

  std::string cleanup_policy() const;
};

// Broker-level log options that are not per-topic.
struct log_manager_options {
  log_config defaults;
  bool flush_strict = false;                 // log.flush.strict
  bool write_behind = true;                  // log.write.behind: true or auto
  bool write_inline_when_alone = true;       // log.write.behind=auto
  std::int64_t flush_scheduler_interval_ms = never;  // log.flush.scheduler.interval.ms
  std::int64_t retention_check_interval_ms = 300000; // log.retention.check.interval.ms
  std::int64_t offline_retry_ms = 5000;               // log.offline.retry.ms, -1 = never
  // Upper bound on bytes the cleaner rewrites per tick(), to keep the event loop responsive.
  std::int64_t cleaner_bytes_per_tick = 64LL * 1024 * 1024;
  // log.tail.cache.bytes (Eddy's own): memory for the newest batches of all partitions
  // together, from which tailing consumers are served (see tail_cache.h); 0 = off.
  std::int64_t tail_cache_bytes = 128LL * 1024 * 1024;

  static result<log_manager_options> parse(const string_map& properties);
};

// Topic config names this log understands, in DescribeConfigs order.
const std::vector<std::string>& topic_config_names();

// One row of DescribeConfigs.
struct config_entry {
  std::string name;
  std::string value;
  bool is_default = true;  // true when the value comes from the broker default
};

// The effective config of a topic as strings, every known name, with a default flag.
std::vector<config_entry> describe_config(const log_config& defaults, const string_map& overrides);

}  // namespace eddy::broker::log
