// Fetch: whole batches from each requested partition, up to the high watermark
// (read_uncommitted) or the last stable offset (read_committed, with the aborted
// transactions overlapping the returned range so the client can drop their records).
//
// Long poll: when fewer than min_bytes are available and max_wait_ms > 0, the request
// waits (fetch_waiters) and is retried after every append until enough data arrived or
// the wait ran out. Any partition error answers at once.
//
// Records are not copied into the response: each partition's batches are pieces left
// where the log has them (its tail cache holds the producers' requests; a disk read has
// its own buffer), written to the socket from there (request_context::respond_sharing).
// Reads that go to disk run on the log's reader thread (partition_log::plan_read, then
// read_planned there); the response is completed and sent back on the event loop. After
// such a read the reader thread reads ahead what follows (log::read_ahead), which the
// consumer's next fetch then takes instead of waiting for the device.
//
// Fetch sessions (v7+) are not kept: every response has session_id 0, which clients treat
// as "sessionless".
#include <memory>

#include <fmt/format.h>

#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "broker/server/fetch_waiters.h"
#include "core/protocol/messages/fetch.h"

namespace eddy::broker::handlers {

namespace {

using protocol::error_code;
using partition_data = protocol::fetch_response::fetchable_topic_response::partition_data;

struct fetch_state {
  protocol::fetch_request req;
};

// A partition whose records come from disk: read on the log's reader thread.
struct pending_read {
  std::size_t topic_index;
  std::size_t partition_index;
  log::read_plan plan;
};

// A response being built: the response, bytes of records (pending reads counted at their
// planned size), whether any partition errored, what keeps the records pieces valid until
// the response is written (see request_context::respond_sharing: cached requests, disk
// read buffers), and the partitions still to be read from disk.
struct built {
  protocol::fetch_response resp;
  std::int64_t bytes = 0;
  bool errors = false;
  std::vector<std::shared_ptr<const void>> owners;
  std::vector<pending_read> pending;
};

// Puts a shared read's records (pieces; see partition_log::read) and for read_committed its
// aborted transactions into `pr`.
void fill(partition_data& pr, log::read_result&& r, const log::partition_log* pl,
          std::int64_t fetch_offset, bool read_committed, built& out) {
  if (read_committed && r.first_offset >= 0 && pl != nullptr) {
    // [fetch offset, next offset): an aborted transaction starting in the last returned
    // batch must be listed too, or the consumer delivers that batch as committed.
    for (const auto& a : pl->aborted_transactions(fetch_offset, r.next_offset))
      pr.aborted_transactions->push_back({a.producer_id, a.first_offset});
  }
  pr.records = protocol::record_bytes::gather(std::move(r.pieces));
  for (auto& o : r.owners) out.owners.push_back(std::move(o));
}

void read_failed(partition_data& pr, const std::string& topic, std::int32_t partition,
                 std::int64_t offset, const log::log_error& e, built& out) {
  if (e.code != error_code::offset_out_of_range)
    fmt::print(stderr, "eddy-broker: fetch {}-{} at offset {} failed: {}\n", topic, partition, offset, e.message);
  pr.error_code = code(e.code);
  pr.records = protocol::bytes{};
  out.errors = true;
}

built build(broker& b, const protocol::fetch_request& req) {
  built out;
  bool read_committed = req.isolation_level == 1;
  bool background = b.logs().reader() != nullptr;
  std::int64_t budget = req.max_bytes > 0 ? req.max_bytes : 0;
  for (const auto& t : req.topics) {
    auto& tr = out.resp.responses.emplace_back();
    tr.topic = t.topic;
    for (const auto& p : t.partitions) {
      auto& pr = tr.partitions.emplace_back();
      pr.partition_index = p.partition;
      // Never null, errors included (as Kafka answers): librdkafka fails the whole
      // response on a record set size of -1 ("invalid MessageSetSize").
      pr.records = protocol::bytes{};
      pr.high_watermark = -1;
      pr.last_stable_offset = -1;
      pr.log_start_offset = -1;
      log::partition_log* pl = b.logs().partition(t.topic, p.partition);
      if (pl == nullptr) {
        pr.error_code = code(error_code::unknown_topic_or_partition);
        out.errors = true;
        continue;
      }
      std::int64_t hw = pl->high_watermark();
      std::int64_t lso = pl->last_stable_offset();
      pr.high_watermark = hw;
      pr.last_stable_offset = lso;
      pr.log_start_offset = pl->log_start_offset();
      // Out of range beyond the log end offset; between the high watermark (written) and
      // the log end offset (write-behind still writing) the answer is just empty.
      if (p.fetch_offset < pl->log_start_offset() || p.fetch_offset > pl->log_end_offset()) {
        pr.error_code = code(error_code::offset_out_of_range);
        out.errors = true;
        continue;
      }
      std::int64_t upper = read_committed ? lso : hw;
      if (read_committed) pr.aborted_transactions.emplace();
      if (p.fetch_offset >= upper || p.partition_max_bytes <= 0) continue;
      // KIP-74: the first batch is returned even when it exceeds the limits, so a
      // consumer can always make progress; later partitions get what budget is left.
      std::int64_t limit = std::min<std::int64_t>(p.partition_max_bytes, budget);
      if (limit <= 0 && out.bytes > 0) continue;
      auto plan = pl->plan_read(p.fetch_offset, std::int32_t(std::max<std::int64_t>(limit, 1)), upper, /*share=*/true,
                                /*defer_lookup=*/background);
      if (!plan) {
        read_failed(pr, t.topic, p.partition, p.fetch_offset, plan.error(), out);
        continue;
      }
      // Reads that likely wait for the device (read_mode::device) go to the reader thread;
      // page-cache reads are quicker done here than handed over.
      if (plan->needs_disk && plan->mode.device && background) {
        // Counted at the planned size: the read returns at most that (beyond the first
        // batch, which is returned whole).
        std::int64_t planned = plan->lookup ? std::int64_t(plan->max_bytes) : std::int64_t(plan->length);
        out.bytes += planned;
        budget -= planned;
        out.pending.push_back({out.resp.responses.size() - 1, tr.partitions.size() - 1, std::move(*plan)});
        continue;
      }
      auto r = plan->needs_disk ? log::partition_log::read_planned(*plan, true) : std::move(plan->ready);
      if (!r) {
        read_failed(pr, t.topic, p.partition, p.fetch_offset, r.error(), out);
        continue;
      }
      std::int64_t n = std::int64_t(r->size());
      out.bytes += n;
      budget -= n;
      fill(pr, std::move(*r), pl, p.fetch_offset, read_committed, out);
    }
  }
  return out;
}

// Answers with `out` once its disk reads are done: they run on the reader thread, and the
// response is completed and sent back on the loop.
void answer(broker& b, const request_ptr& ctx, const std::shared_ptr<fetch_state>& state, built&& out) {
  if (out.pending.empty()) return ctx->respond_sharing(out.resp, std::move(out.owners));
  auto job = std::make_shared<built>(std::move(out));
  b.logs().reader()->submit([&b, ctx, state, job]() -> std::function<void()> {
    // Reader thread: only the planned reads (segments stay valid below their readable size).
    auto results = std::make_shared<std::vector<log::result<log::read_result>>>();
    for (const auto& pr : job->pending) results->push_back(log::partition_log::read_planned(pr.plan, true));
    return [&b, ctx, state, job, results] {
      bool read_committed = state->req.isolation_level == 1;
      std::vector<std::function<void()>> read_aheads;
      for (std::size_t i = 0; i < job->pending.size(); ++i) {
        const pending_read& p = job->pending[i];
        auto& tr = job->resp.responses[p.topic_index];
        auto& part = tr.partitions[p.partition_index];
        auto& r = (*results)[i];
        if (!r) {
          read_failed(part, tr.topic, part.partition_index, p.plan.offset, r.error(), *job);
          continue;
        }
        // The aborted transactions come from the log as it is now, which must still hold the
        // segment read: if compaction replaced it (its rewrite may have dropped aborted
        // transactions whose records this read still has) or the topic went away, the
        // partition answers empty and the consumer fetches again.
        const log::partition_log* pl = b.logs().partition(tr.topic, part.partition_index);
        if (pl == nullptr) continue;
        auto seg = pl->segments().find(p.plan.seg->base_offset());
        if (seg == pl->segments().end() || seg->second != p.plan.seg) continue;
        if (r->not_in_segment) {
          // The offset is in a gap at the end of its segment (compaction): the batch is in
          // a later one. Rare; read here, finding the batch the usual way.
          r = pl->read(p.plan.offset, p.plan.max_bytes, p.plan.upper_bound, /*share=*/true);
          if (!r) {
            read_failed(part, tr.topic, part.partition_index, p.plan.offset, r.error(), *job);
            continue;
          }
        }
        if (auto ahead = log::partition_log::read_ahead_after(p.plan, *r)) read_aheads.push_back(std::move(ahead));
        fill(part, std::move(*r), pl, p.plan.offset, read_committed, *job);
      }
      ctx->respond_sharing(job->resp, std::move(job->owners));
      // The consumer's next fetch will most likely want what follows: read it now, while
      // this response travels and the consumer turns around (see log::read_ahead).
      for (auto& ahead : read_aheads)
        b.logs().reader()->submit([ahead = std::move(ahead)]() -> std::function<void()> {
          ahead();
          return [] {};
        });
    };
  });
}

}  // namespace

void handle_fetch(request_ptr ctx) {
  auto state = std::make_shared<fetch_state>(fetch_state{ctx->decode<protocol::fetch_request>()});
  broker& b = ctx->owner();
  auto first = build(b, state->req);
  if (first.errors || first.bytes >= std::max(state->req.min_bytes, 1) || state->req.max_wait_ms <= 0) {
    return answer(b, ctx, state, std::move(first));
  }
  b.waiters().add(
      [ctx, state, &b](bool timed_out) {
        auto again = build(b, state->req);
        if (timed_out || again.errors || again.bytes >= std::max(state->req.min_bytes, 1)) {
          answer(b, ctx, state, std::move(again));
          return true;
        }
        return false;
      },
      std::chrono::milliseconds(state->req.max_wait_ms));
}

}  // namespace eddy::broker::handlers
