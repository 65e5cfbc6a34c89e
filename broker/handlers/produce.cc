// Produce: validates each partition's record batch, checks idempotence/transactions,
// appends it, and answers with the assigned base offset.
//
// Per partition (Produce v3+ carries exactly one v2 batch): size <= max.message.bytes
// (MESSAGE_TOO_LARGE), one whole batch with a valid CRC and consistent counts
// (CORRUPT_MESSAGE / INVALID_RECORD), no control batches from clients (INVALID_RECORD),
// then the producer-state check: an exact retry of one of the last 5 batches is answered
// with its original offsets and not appended. acks=0 gets no response. The answer waits
// until each batch is written (write-behind, see partition_log.h), and acks=all under
// log.flush.strict also for the fsync (group commit).
#include <array>
#include <cstring>
#include <memory>

#include <boost/asio/post.hpp>

#include "broker/eos_services.h"
#include "broker/handlers/common.h"
#include "broker/handlers/registry.h"
#include "broker/server/fetch_waiters.h"
#include "core/protocol/messages/produce.h"
#include "core/record/batch_reader.h"

namespace eddy::broker::handlers {

namespace {

using protocol::error_code;
using partition_response = protocol::produce_response::topic_produce_response::partition_produce_response;

struct append_outcome {
  error_code error = error_code::none;
  std::int64_t base_offset = -1;
  std::int64_t last_offset = -1;
  std::int64_t log_append_time = -1;
  std::int64_t log_start_offset = -1;
  bool appended = false;
};

append_outcome produce_one(broker& b, const std::string& topic, std::int32_t partition,
                           std::optional<protocol::record_bytes>& records, const std::optional<std::string>& txn_id,
                           const request_ptr& ctx) {
  append_outcome out;
  log::partition_log* pl = b.logs().partition(topic, partition);
  if (pl == nullptr) {
    // Not a known partition: maybe a topic to auto-create (the lookup above keeps the
    // common case free of topic-metadata copies).
    if (auto e = ensure_topic(b, topic, true); e != error_code::none) {
      out.error = e == error_code::invalid_topic_exception ? e : error_code::unknown_topic_or_partition;
      return out;
    }
    pl = b.logs().partition(topic, partition);
  }
  if (pl == nullptr) {
    out.error = error_code::unknown_topic_or_partition;
    return out;
  }
  out.log_start_offset = pl->log_start_offset();
  if (!records || records->empty()) {
    out.error = error_code::invalid_record;
    return out;
  }
  if (std::int64_t(records->size()) > pl->config().max_message_bytes) {
    out.error = error_code::message_too_large;
    return out;
  }
  record::byte_span all(records->data(), records->size());
  record::batch_splitter splitter(all);
  record::byte_span batch;
  if (!splitter.next(batch)) {
    out.error = splitter.error().ok() ? error_code::invalid_record : splitter.error().code;
    return out;
  }
  if (splitter.trailing_bytes() != 0) {
    out.error = error_code::invalid_record;  // v3+ allows exactly one batch per partition
    return out;
  }
  record::read_options opts;
  opts.produced = true;
  if (auto st = record::validate_batch(batch, opts); !st.ok()) {
    out.error = st.code;
    return out;
  }
  record::batch_header_view h{batch.data()};
  if (h.is_control()) {
    out.error = error_code::invalid_record;
    return out;
  }
  if (h.is_transactional() && !txn_id) {
    out.error = error_code::invalid_record;
    return out;
  }
  if (h.producer_id() >= 0) {
    auto check = b.eos().check_produce(topic, partition, h, txn_id);
    if (check.error != error_code::none) {
      out.error = check.error;
      return out;
    }
    if (check.duplicate_base_offset) {
      out.base_offset = *check.duplicate_base_offset;
      out.last_offset = out.base_offset + h.last_offset_delta();
      return out;
    }
  }
  // The header as sent (the producer fields the idempotence state needs): once a deferred
  // write of the batch is queued, the writer thread may read the frame at any time, and
  // nothing here touches it again.
  std::array<std::uint8_t, record::batch_header_size> header;
  std::memcpy(header.data(), records->data(), header.size());
  // `records` is a view into the request frame (decoded borrowing): the log rewrites the
  // base offset there, and a deferred write reads the batch from there, holding the request.
  std::span<std::uint8_t> mutable_batch(records->mutable_data(), batch.size());
  // log.write.behind=auto: a large batch is written by the loop itself, which spares the
  // two thread hand-offs of write-behind (measurably less CPU per GB on the 2-core machine
  // it was measured on), when nothing else is waiting for the loop meanwhile: no other
  // connection has sent requests lately and this client's next request is not already
  // here (a client that is ahead gets the overlap of write-behind).
  bool write_now = batch.size() >= log::direct_min_bytes && b.logs().options().write_inline_when_alone &&
                   b.serving_alone(ctx->connection_id()) && ctx->unread_input_bytes() < batch.size();
  auto r = pl->append(mutable_batch, b.now_ms(), ctx, write_now);
  if (!r) {
    out.error = r.error().code;
    return out;
  }
  out.base_offset = r->base_offset;
  out.last_offset = r->last_offset;
  out.log_append_time = r->log_append_time;
  out.log_start_offset = r->log_start_offset;
  out.appended = true;
  // Large batches: have the connection place the client's next request so that its batch
  // can go to disk straight from the request (O_DIRECT, no staging copy).
  if (batch.size() >= log::direct_min_bytes) ctx->hint_next_frame(records->data(), pl->next_append_position());
  record::batch_header_view sent{header.data()};
  if (sent.producer_id() >= 0) b.eos().on_appended(topic, partition, sent, r->base_offset);
  return out;
}

void produce(request_ptr ctx, bool may_defer) {
  auto req = ctx->decode<protocol::produce_request>(/*borrow_records=*/true);
  broker& b = ctx->owner();
  if (may_defer) {
    // Topics to auto-create first (nothing is appended before): the whole request runs
    // once they exist.
    std::vector<std::string> unknown;
    for (const auto& t : req.topic_data)
      if (!t.partition_data.empty() && b.logs().partition(t.name, t.partition_data.front().index) == nullptr)
        unknown.push_back(t.name);
    if (!unknown.empty() && auto_create_then(b, unknown, [ctx] { produce(ctx, false); })) return;
  }
  bool valid_acks = req.acks == 0 || req.acks == 1 || req.acks == -1;
  auto resp = std::make_shared<protocol::produce_response>();
  // Partitions whose answer waits: for the write of its batch (write-behind, also for a
  // retried duplicate whose first write is still queued) and, for acks=all under
  // log.flush.strict, for the fsync after it (group commit on the flusher thread).
  struct pending {
    log::partition_log* log;
    std::int64_t last_offset;
    bool fsync;
    std::size_t topic_index, partition_index;
  };
  std::vector<pending> waits;
  bool any_appended = false;
  for (auto& t : req.topic_data) {
    auto& tr = resp->responses.emplace_back();
    tr.name = t.name;
    for (auto& p : t.partition_data) {
      auto& pr = tr.partition_responses.emplace_back();
      pr.index = p.index;
      if (!valid_acks) {
        pr.error_code = code(error_code::invalid_required_acks);
        continue;
      }
      auto o = produce_one(b, t.name, p.index, p.records, req.transactional_id, ctx);
      pr.error_code = code(o.error);
      pr.base_offset = o.base_offset;
      pr.log_append_time_ms = o.log_append_time;
      pr.log_start_offset = o.log_start_offset;
      if (o.appended) any_appended = true;
      if (o.error != error_code::none || o.last_offset < 0) continue;
      auto* pl = b.logs().partition(t.name, p.index);
      bool fsync = o.appended && req.acks == -1 && b.logs().flush_strict();
      if (fsync || pl->high_watermark() <= o.last_offset)
        waits.push_back({pl, o.last_offset, fsync, resp->responses.size() - 1, tr.partition_responses.size() - 1});
    }
  }
  if (any_appended) b.waiters().notify();
  if (req.acks == 0) return ctx->no_response();
  if (waits.empty()) return ctx->respond(*resp);
  auto remaining = std::make_shared<std::size_t>(waits.size());
  for (auto& w : waits) {
    auto finish = [ctx, resp, remaining, ti = w.topic_index, pi = w.partition_index](error_code e) {
      if (e != error_code::none) {
        auto& pr = resp->responses[ti].partition_responses[pi];
        pr.error_code = code(e);
        pr.base_offset = -1;
      }
      if (--*remaining == 0) ctx->respond(*resp);
    };
    w.log->when_written(w.last_offset, [finish, w, &io = b.io()](error_code e) {
      if (e != error_code::none || !w.fsync) return finish(e);
      // Sync callbacks arrive on the flusher thread and are posted back to the loop.
      w.log->sync(w.last_offset, [finish, &io](error_code e2) {
        boost::asio::post(io, [finish, e2] { finish(e2); });
      });
    });
  }
}

}  // namespace

void handle_produce(request_ptr ctx) { produce(ctx, true); }

}  // namespace eddy::broker::handlers
