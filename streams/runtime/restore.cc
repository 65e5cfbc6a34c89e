#include "streams/runtime/restore.h"

#include <chrono>

#include <fmt/format.h>

namespace eddy::streams::runtime {

int64_t restore_task(rd_kafka_t* rk, task& t, const std::atomic<bool>& stop, std::string& error) {
  int64_t total = 0;
  for (auto* s : t.stores()) {
    if (s->changelog_topic().empty()) continue;
    s->flush();  // the committed layer then holds everything committed, at its changelog offset
    const std::string& topic = s->changelog_topic();
    int32_t partition = s->partition();
    int64_t low = 0, high = 0;
    auto err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &low, &high, 10000);
    if (err) {
      error = fmt::format("cannot read the end offset of changelog {}-{}: {}", topic, partition, rd_kafka_err2str(err));
      return total;
    }
    int64_t start = std::max(s->committed().changelog_offset() + 1, low);
    if (start >= high) continue;
    rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic.c_str(), partition)->offset = start;
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    state::write_batch batch;
    int64_t last = -1;
    auto flush = [&] {
      if (batch.empty()) return;
      s->committed().apply(batch, last);
      total += static_cast<int64_t>(batch.size());
      batch.clear();
    };
    auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
    bool done = false;
    while (!done && !stop) {
      if (std::chrono::steady_clock::now() > deadline) {
        error = fmt::format("restoring {}-{} did not reach offset {} within 5 minutes (an open transaction of a dead "
                            "instance blocks it until transaction.timeout.ms)",
                            topic, partition, high);
        break;
      }
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
      if (!m) continue;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        done = true;
      } else if (m->err) {
        // transient fetch errors are retried by librdkafka; keep polling
      } else {
        std::optional<std::string> v;
        if (m->payload) v.emplace(static_cast<const char*>(m->payload), m->len);
        if (m->key) batch.emplace_back(std::string(static_cast<const char*>(m->key), m->key_len), std::move(v));
        last = m->offset;
        if (batch.size() >= 10000) flush();
        if (m->offset >= high - 1) done = true;
      }
      rd_kafka_message_destroy(m);
    }
    flush();
    rd_kafka_assign(rk, nullptr);
    if (!error.empty()) return total;
  }
  return total;
}

}  // namespace eddy::streams::runtime
