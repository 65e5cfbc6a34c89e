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

struct fetch_state {
  protocol::fetch_request req;
  std::int16_t version;
};

// Builds a response; returns (response, bytes of records, whether any partition errored).
struct built {
  protocol::fetch_response resp;
  std::int64_t bytes = 0;
  bool errors = false;
  // What keeps the records pieces valid until the response is written (see
  // request_context::respond_sharing): cached requests, disk read buffers.
  std::vector<std::shared_ptr<const void>> owners;
};

built build(broker& b, const protocol::fetch_request& req, std::int16_t version) {
  built out;
  bool read_committed = req.isolation_level == 1;
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
      if (p.fetch_offset >= upper || p.partition_max_bytes <= 0) {
        pr.records = protocol::bytes{};
        continue;
      }
      // KIP-74: the first batch is returned even when it exceeds the limits, so a
      // consumer can always make progress; later partitions get what budget is left.
      std::int64_t limit = std::min<std::int64_t>(p.partition_max_bytes, budget);
      if (limit <= 0 && out.bytes > 0) {
        pr.records = protocol::bytes{};
        continue;
      }
      auto r = pl->read(p.fetch_offset, std::int32_t(std::max<std::int64_t>(limit, 1)), upper, /*share=*/true);
      if (!r) {
        if (r.error().code != error_code::offset_out_of_range)
          fmt::print(stderr, "eddy-broker: fetch {}-{} at offset {} failed: {}\n", t.topic, p.partition, p.fetch_offset,
                     r.error().message);
        pr.error_code = code(r.error().code);
        out.errors = true;
        continue;
      }
      if (read_committed && r->first_offset >= 0) {
        // [fetch offset, next offset): an aborted transaction starting in the last returned
        // batch must be listed too, or the consumer delivers that batch as committed.
        for (const auto& a : pl->aborted_transactions(p.fetch_offset, r->next_offset))
          pr.aborted_transactions->push_back({a.producer_id, a.first_offset});
      }
      std::int64_t n = std::int64_t(r->size());
      out.bytes += n;
      budget -= n;
      pr.records = protocol::record_bytes::gather(std::move(r->pieces));
      for (auto& o : r->owners) out.owners.push_back(std::move(o));
    }
  }
  return out;
}

}  // namespace

void handle_fetch(request_ptr ctx) {
  auto state = std::make_shared<fetch_state>(fetch_state{ctx->decode<protocol::fetch_request>(), ctx->version()});
  broker& b = ctx->owner();
  auto first = build(b, state->req, state->version);
  if (first.errors || first.bytes >= std::max(state->req.min_bytes, 1) || state->req.max_wait_ms <= 0) {
    return ctx->respond_sharing(first.resp, std::move(first.owners));
  }
  b.waiters().add(
      [ctx, state, &b](bool timed_out) {
        auto again = build(b, state->req, state->version);
        if (timed_out || again.errors || again.bytes >= std::max(state->req.min_bytes, 1)) {
          ctx->respond_sharing(again.resp, std::move(again.owners));
          return true;
        }
        return false;
      },
      std::chrono::milliseconds(state->req.max_wait_ms));
}

}  // namespace eddy::broker::handlers
