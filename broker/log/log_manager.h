// The broker's storage: one data directory holding every partition log and the topic
// metadata, recovered on open.
//
// Data directory layout:
//   .lock              empty; held with flock(LOCK_EX|LOCK_NB) while a broker runs, so a
//                      second broker on the same directory is refused with a clear error
//   .clean_shutdown    empty; written last by close() and removed at open, so its absence
//                      at open means the last run was killed: every partition is then
//                      validated batch by batch (CRC) from its recovery point (the
//                      segments flushed at a roll, see partition_log.h) and torn tails
//                      are truncated
//   topics.meta        topic metadata, text, replaced atomically (temp + fsync + rename +
//                      directory fsync) on every change:
//                        "eddy-topics 1\n"
//                        per topic: "topic <name> <partition count>\n"
//                                   then "config <name>=<value>\n" per override
//                        "end\n"   (a file without it is torn and refused)
//   <topic>-<n>/       one partition_log folder per partition (see partition_log.h)
// topics.meta is the commit point: partition folders are created before a topic is
// recorded and removed after it is dropped; folders it does not list are leftovers of an
// interrupted create or delete and are removed at open.
//
// Thread-safety: not thread-safe; the broker's event-loop thread owns it. The flusher it
// owns runs sync callbacks on its own thread.
//
// Example:
//   auto opts = log_manager_options::parse(properties);
//   auto lm = log_manager::open("/var/lib/eddy", *opts);
//   if (!lm) die(lm.error().message);              // e.g. directory in use
//   (*lm)->create_topic("orders", 3, {{"retention.ms", "86400000"}});
//   partition_log* p = (*lm)->partition("orders", 0);
//   ... every second or so: (*lm)->tick(now_ms);
//   (*lm)->close();                                 // clean shutdown
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "broker/log/background_worker.h"
#include "broker/log/cleaner.h"
#include "broker/log/flusher.h"
#include "broker/log/log_config.h"
#include "broker/log/partition_log.h"

namespace eddy::broker::log {

struct topic_info {
  std::string name;
  std::int32_t partition_count = 0;
  string_map overrides;  // topic configs set explicitly (topic names, e.g. retention.ms)
};

// Kafka's rule: 1..249 characters of [a-zA-Z0-9._-], not "." or "..".
// Error: invalid_topic_exception with the reason.
result<void> validate_topic_name(std::string_view name);

class log_manager {
 public:
  static result<std::unique_ptr<log_manager>> open(const std::filesystem::path& data_dir,
                                                   const log_manager_options& options);
  // Closes cleanly if close() was not called (errors are printed, not thrown).
  ~log_manager();
  log_manager(const log_manager&) = delete;
  log_manager& operator=(const log_manager&) = delete;

  // Clean shutdown: seals and fsyncs every partition, writes the clean-shutdown marker,
  // waits for the flusher and releases the lock.
  result<void> close();
  // Tests only: drops everything without a clean shutdown (no fsync, no marker) and
  // releases the lock, like kill -9 minus the loss of the page cache.
  void abandon_for_testing();

  // Errors: invalid_topic_exception, topic_already_exists, invalid_partitions (< 1),
  // invalid_config (unknown name or bad value), kafka_storage_error.
  result<void> create_topic(std::string_view name, std::int32_t partitions, const string_map& configs);
  // The same without blocking the caller for the file work (about a millisecond per
  // partition): checks at once (the same errors, through `done`), creates the partitions'
  // files on the admin thread, then on the event loop registers the topic, persists
  // topics.meta and calls `done`. Meanwhile the topic is "being created": not listed, and
  // creating it again answers leader_not_available (retriable, as Kafka answers for a
  // topic whose creation has not completed). Inline without enable_background_admin.
  void create_topic_async(std::string name, std::int32_t partitions, string_map configs,
                          std::function<void(result<void>)> done);
  bool being_created(std::string_view name) const { return creating_.count(name) != 0; }
  // Runs `then` on the event loop once the file work in flight for `name` (a creation, or
  // new partitions) completed, successfully or not; at once when there is none. Dropped
  // if the manager closes first.
  void after_creation(std::string_view name, std::function<void()> then);
  // Errors: unknown_topic_or_partition, kafka_storage_error. Data is removed from disk.
  result<void> delete_topic(std::string_view name);
  // Grows the topic to `new_total` partitions. Errors: unknown_topic_or_partition,
  // invalid_partitions (not larger than now, or the topic is being grown already),
  // kafka_storage_error.
  result<void> add_partitions(std::string_view name, std::int32_t new_total);
  // The same without blocking the caller for the file work, as create_topic_async: checks
  // at once, creates the new partitions' files on the admin thread, then on the event loop
  // adds them (with the topic's config as it is then), persists topics.meta and calls
  // `done`. Meanwhile the topic is busy: growing it again answers invalid_partitions and
  // creating its name again (after a delete) leader_not_available. A topic deleted
  // meanwhile gets unknown_topic_or_partition, and the new folders are removed.
  void add_partitions_async(std::string name, std::int32_t new_total, std::function<void(result<void>)> done);
  // Replaces the topic's overrides (AlterConfigs) after validating them.
  result<void> set_topic_configs(std::string_view name, const string_map& overrides);

  std::vector<topic_info> list_topics() const;
  std::optional<topic_info> describe_topic(std::string_view name) const;
  // The effective config (every known name, value, is_default). unknown_topic_or_partition.
  result<std::vector<config_entry>> describe_topic_configs(std::string_view name) const;
  // nullptr when the topic or partition does not exist.
  partition_log* partition(std::string_view topic, std::int32_t partition);

  // Housekeeping: retention (at the first tick, then every
  // options.retention_check_interval_ms, as Kafka's log.retention.check.interval.ms), the
  // flush.ms/flush.messages policy, and a bounded amount of compaction
  // (options.cleaner_bytes_per_tick). Call it periodically from the event loop.
  // It also brings back partitions that a failed write took offline: see set_on_recovered.
  void tick(std::int64_t now_ms);

  // Offline partitions (a failed write, see partition_log.h: a full disk, say) are reopened
  // from disk by tick() once options.offline_retry_ms has passed since tick() first saw them
  // offline, exactly as a start after kill -9 opens them: the torn tail is truncated, the
  // indexes are rebuilt, everything that was written stays. The reopened partition
  // replaces the offline object (partition() returns the new one; the old one's lifetime
  // ends). If the reopen fails, or the partition goes offline again within a minute of
  // coming back, the next try waits twice as long as the last (up to 64 times the
  // interval), so a disk that is still full costs a reopen every few minutes at most.
  // The reopen reads and validates the segments since the last roll, as recovery does; on
  // the admin thread when there is one (enable_background_admin), while the old log keeps
  // serving reads: meanwhile tick() applies no retention or compaction to it, and a
  // delete_topic removes its folder only once the reopen is done (creating the name again
  // answers leader_not_available until then).
  // `recovered` runs after a partition came back (the broker rebuilds its producer state,
  // which may hold batches that were never written).
  void set_on_recovered(std::function<void(const std::string& topic, std::int32_t partition)> recovered) {
    on_recovered_ = std::move(recovered);
  }

  // Write-behind (log.write.behind, see write_behind.h): large appends are written by a
  // background thread. `post` runs a function on the event loop; `on_written` runs there
  // whenever completed writes made more data readable. Call once, before serving; a no-op
  // when log.write.behind=false.
  void enable_write_behind(write_behind::post_fn post, std::function<void()> on_written);
  // Background compaction: tick() plans a pass and a cleaner thread reads and rewrites the
  // segments; the swap comes back to the loop through `post`. Without it, tick() compacts
  // on the calling thread (bounded by options.cleaner_bytes_per_tick).
  void enable_background_cleaner(background_cleaner::post_fn post);

  // Fetch reads from disk on a reader thread (see background_worker.h); `post` runs a
  // function on the event loop. Without it, reader() is null and fetches read inline.
  void enable_background_reads(background_worker::post_fn post);
  background_worker* reader() { return reader_.get(); }
  // Topic creation's file work on an admin thread (create_topic_async); `post` as above.
  void enable_background_admin(background_worker::post_fn post);

  bool flush_strict() const { return options_.flush_strict; }
  const log_manager_options& options() const { return options_; }
  const std::filesystem::path& data_dir() const { return dir_; }
  flusher& background_flusher() { return *flusher_; }
  // Whether this open found the clean-shutdown marker.
  bool started_clean() const { return started_clean_; }

 private:
  struct topic_state {
    string_map overrides;
    log_config config;
    std::vector<std::unique_ptr<partition_log>> partitions;
  };

  log_manager(std::filesystem::path dir, const log_manager_options& o) : dir_(std::move(dir)), options_(o) {}
  result<void> load();
  // create_topic in three parts: checks (loop), the files (any thread), registering (loop).
  result<log_config> check_new_topic(std::string_view name, std::int32_t partitions, const string_map& configs) const;
  // Partitions [first, end) of a new or growing topic; on failure none is left on disk.
  static result<std::vector<std::unique_ptr<partition_log>>> make_partitions(const std::filesystem::path& data_dir,
                                                                            const std::string& name,
                                                                            std::int32_t first, std::int32_t end,
                                                                            const log_config& cfg, flusher* f);
  // add_partitions in parts: checks, then (loop) adding what make_partitions made.
  result<void> check_growth(std::string_view name, std::int32_t new_total) const;
  result<void> add_made_partitions(const std::string& name, std::vector<std::unique_ptr<partition_log>> made);
  result<void> add_topic(const std::string& name, const string_map& configs, const log_config& cfg,
                         std::vector<std::unique_ptr<partition_log>> partitions);
  result<void> persist_metadata();
  std::filesystem::path partition_dir(std::string_view topic, std::int32_t p) const;

  std::filesystem::path dir_;
  log_manager_options options_;
  int lock_fd_ = -1;
  bool started_clean_ = false;
  bool closed_ = false;
  std::unique_ptr<flusher> flusher_;
  // Connects a new partition log to the write-behind thread and the tail cache.
  void attach_writer(partition_log& p);
  // Declared before topics_: partitions (which drain their writes on destruction) go first.
  std::unique_ptr<write_behind> writer_;
  std::unique_ptr<tail_cache_budget> tail_budget_;  // null when log.tail.cache.bytes=0
  std::unique_ptr<background_worker> reader_;
  std::unique_ptr<background_worker> admin_;
  // Topics whose files the admin thread is creating (a new topic, or a growing one's new
  // partitions).
  std::set<std::string, std::less<>> creating_;
  std::map<std::string, std::vector<std::function<void()>>, std::less<>> after_creation_;
  // Runs what waited for `name` (after_creation); creating_ no longer holds it.
  void created(const std::string& name);
  std::function<void()> on_written_;
  std::map<std::string, topic_state, std::less<>> topics_;
  std::size_t cleaner_cursor_ = 0;  // round-robin position over compacted partitions
  std::int64_t last_retention_check_ms_ = -1;  // -1: none yet
  // Offline partitions being brought back, and those that came back less than a minute ago.
  using partition_key = std::pair<std::string, std::int32_t>;
  struct offline_state {
    int tries = 0;                  // reopens so far (successful or not)
    std::int64_t next_try_ms = -1;  // -1: online, or not seen offline since it came back
    std::int64_t online_since_ms = -1;
    bool reopening = false;  // the admin thread is opening it
  };
  std::map<partition_key, offline_state> offline_;
  // Partitions of deleted topics whose folders wait for their reopen to finish.
  std::set<partition_key> removal_pending_;
  std::function<void(const std::string&, std::int32_t)> on_recovered_;
  std::int64_t last_tick_ms_ = 0;
  void recover_offline(std::int64_t now_ms);
  // On the loop: puts the reopened log in place of `old` (if that is still the partition's).
  void finish_reopen(const partition_key& key, const partition_log* old,
                     result<std::unique_ptr<partition_log>> fresh);
  bool reopening(std::string_view topic, std::int32_t partition) const;
  // log.offline.retry.ms doubled per earlier try, at most 64 times.
  std::int64_t offline_retry_delay(int tries) const;
  // Removes a deleted partition's folder (what fails is printed; the next start removes it).
  void remove_partition_dir(std::string_view topic, std::int32_t partition);
  // Declared last: destroyed (its thread joined, its result dropped) before the logs.
  std::unique_ptr<background_cleaner> cleaner_;
};

}  // namespace eddy::broker::log
