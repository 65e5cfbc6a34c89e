// read_process_write: exactly-once consume-transform-produce with librdkafka's
// transactional producer directly (no DSL): uppercase every value of an input topic.
//
//   read_process_write [--bootstrap HOST:PORT] [--input TOPIC] [--output TOPIC]
//
// The loop: poll a batch, produce results inside a transaction, add the consumed offsets to
// the same transaction (send_offsets_to_transaction), commit. On an abortable error, abort
// and rewind to the last committed offsets; read_committed readers never see aborted output.
#include <cctype>
#include <iostream>

#include "eddy/broker/embedded_broker.h"
#include "samples/common.h"

int main(int argc, char** argv) {
  auto f = samples::parse_flags(argc, argv, {"bootstrap", "input", "output"},
                                "usage: read_process_write [--bootstrap HOST:PORT] [--input TOPIC] [--output TOPIC]");
  std::unique_ptr<eddy::broker::embedded_broker> broker;
  std::string bootstrap = f.count("bootstrap") ? f["bootstrap"] : "";
  bool demo = bootstrap.empty();
  if (demo) {
    broker = std::make_unique<eddy::broker::embedded_broker>();
    bootstrap = broker->bootstrap_servers();
  }
  std::string in = f.count("input") ? f["input"] : "rpw-input", out = f.count("output") ? f["output"] : "rpw-output";
  if (demo) {
    if (!samples::create_topics(bootstrap, {{in, 1}, {out, 1}})) return 1;
    samples::produce(bootstrap, in, {{"k1", "hello"}, {"k2", "exactly"}, {"k3", "once"}});
  }

  rd_kafka_t* consumer = samples::make_client(RD_KAFKA_CONSUMER, bootstrap,
      {{"group.id", "read-process-write"}, {"enable.auto.commit", "false"}, {"auto.offset.reset", "earliest"},
       {"isolation.level", "read_committed"}});
  rd_kafka_poll_set_consumer(consumer);
  rd_kafka_t* producer = samples::make_client(RD_KAFKA_PRODUCER, bootstrap, {{"transactional.id", "read-process-write-1"}});
  if (rd_kafka_error_t* e = rd_kafka_init_transactions(producer, 30000)) {
    std::cerr << "error: init_transactions: " << rd_kafka_error_string(e) << "\n";
    return 1;
  }
  auto* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, in.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(consumer, topics);
  rd_kafka_topic_partition_list_destroy(topics);

  int processed = 0;
  auto idle_since = std::chrono::steady_clock::now();
  while (!demo || std::chrono::steady_clock::now() - idle_since < std::chrono::seconds(5)) {
    std::vector<rd_kafka_message_t*> batch;
    while (batch.size() < 500)
      if (rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, batch.empty() ? 200 : 0)) batch.push_back(m);
      else break;
    if (batch.empty()) continue;
    idle_since = std::chrono::steady_clock::now();
    rd_kafka_begin_transaction(producer);
    auto* offsets = rd_kafka_topic_partition_list_new(4);
    for (auto* m : batch) {
      if (!m->err) {
        std::string v(static_cast<const char*>(m->payload), m->len);
        for (auto& c : v) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(out.c_str()), RD_KAFKA_V_KEY(m->key, m->key_len),
                          RD_KAFKA_V_VALUE(v.data(), v.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        auto* tp = rd_kafka_topic_partition_list_find(offsets, rd_kafka_topic_name(m->rkt), m->partition);
        if (!tp) tp = rd_kafka_topic_partition_list_add(offsets, rd_kafka_topic_name(m->rkt), m->partition);
        tp->offset = m->offset + 1;
        std::cout << std::string(static_cast<const char*>(m->payload), m->len) << " -> " << v << "\n";
        ++processed;
      }
      rd_kafka_message_destroy(m);
    }
    auto* md = rd_kafka_consumer_group_metadata(consumer);
    rd_kafka_error_t* e = rd_kafka_send_offsets_to_transaction(producer, offsets, md, 30000);
    rd_kafka_consumer_group_metadata_destroy(md);
    if (!e) e = rd_kafka_commit_transaction(producer, 30000);
    if (e) {
      std::cerr << "transaction failed: " << rd_kafka_error_string(e) << "; aborting and rewinding\n";
      bool fatal = rd_kafka_error_is_fatal(e);
      rd_kafka_error_destroy(e);
      if (fatal) return 1;
      rd_kafka_abort_transaction(producer, 30000);
      rd_kafka_topic_partition_list_t* assigned = nullptr;
      rd_kafka_assignment(consumer, &assigned);
      rd_kafka_committed(consumer, assigned, 10000);
      rd_kafka_seek_partitions(consumer, assigned, 10000);
      rd_kafka_topic_partition_list_destroy(assigned);
    }
    rd_kafka_topic_partition_list_destroy(offsets);
  }
  std::cout << processed << " records processed exactly once\n";
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  rd_kafka_destroy(producer);
  return 0;
}
