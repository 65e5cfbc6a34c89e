#include "streams/runtime/stream_thread.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include "streams/runtime/kafka_config.h"
#include "streams/runtime/restore.h"
#include "streams/runtime/task.h"
#include "streams/state/memory_store.h"
#include "streams/state/rocksdb_store.h"

namespace eddy::streams::runtime {
namespace {

constexpr int kTxnTimeoutMs = 30000;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string error_text(rd_kafka_error_t* e) {
  std::string s = rd_kafka_error_string(e);
  return s;
}

// Runs one job at a time on its own thread: the exactly-once commit (send_offsets_to_transaction
// + commit_transaction, which block for several broker round trips) while the stream thread
// keeps processing.
class committer {
 public:
  ~committer() {
    {
      std::lock_guard lk(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  void start(std::function<void()> job) {
    if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
    {
      std::lock_guard lk(mu_);
      job_ = std::move(job);
      busy_ = true;
    }
    cv_.notify_all();
  }
  bool busy() {
    std::lock_guard lk(mu_);
    return busy_;
  }
  void wait() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [this] { return !busy_; });
  }

 private:
  void loop() {
    std::unique_lock lk(mu_);
    for (;;) {
      cv_.wait(lk, [this] { return quit_ || job_; });
      if (!job_) return;
      auto job = std::move(job_);
      job_ = nullptr;
      lk.unlock();
      job();
      lk.lock();
      busy_ = false;
      cv_.notify_all();
    }
  }
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> job_;
  bool busy_ = false;
  bool quit_ = false;
};

}  // namespace

struct stream_thread::impl final : record_sink {
  app_context& app;
  int index;
  std::atomic<bool>* stop = nullptr;
  bool eos;
  std::string name;
  rd_kafka_t* consumer = nullptr;
  rd_kafka_t* producer = nullptr;
  rd_kafka_t* restorer = nullptr;
  // The producer's topic handles by name: send() passes the handle (a name makes librdkafka look
  // the topic up under its lock for every record); held until the producer is destroyed, which
  // also keeps the topic objects `delivered` points to alive.
  std::unordered_map<std::string, rd_kafka_topic_t*> producer_topics;
  bool revoked = false;  // set by the rebalance callback on revoke (graceful leave waits for it)
  bool in_txn = false;
  bool fatal = false;       // the producer is fenced or failed: rebuild clients
  bool needs_rewind = false;  // a transaction was aborted: rewind to committed offsets
  std::string produce_error;
  std::map<task_id, std::unique_ptr<task>> tasks;
  std::map<task_id, std::unique_ptr<task>> suspended;  // revoked, kept for a possible reassignment
  // Highest offset per (topic, partition) delivered in the current commit cycle, keyed by the
  // producer's topic object: the delivery callback runs for every record, so no name copies.
  std::map<std::pair<const rd_kafka_topic_t*, int32_t>, int64_t> delivered;
  int64_t last_commit = 0;
  bool dirty = false;  // processed or produced since the last commit

  // Exactly-once commits run on the committer thread while this thread keeps processing the
  // next transaction's records. librdkafka accepts no records between commit_transaction and
  // the next begin_transaction, so the records sent meanwhile are held here and produced once
  // the commit completed (in the next transaction); the stores keep the committing
  // transaction's writes in their sealed layer meanwhile. While a commit is in flight only the
  // committer thread calls the producer (its flush serves the delivery reports).
  struct held_record {
    rd_kafka_topic_t* rkt;
    int32_t partition;
    std::optional<std::string> key, value;
    int64_t ts;
    headers hdrs;
  };
  static constexpr size_t kMaxHeldBytes = 32 << 20;  // then wait for the commit
  committer committer_thread;
  bool committing = false;
  std::vector<held_record> held;
  size_t held_bytes = 0;
  std::string held_error;  // a held record that could not be held: fails the next transaction
  rd_kafka_topic_partition_list_t* commit_offsets = nullptr;
  rd_kafka_error_t* commit_error = nullptr;  // the committer's result
  const char* commit_what = nullptr;

  impl(app_context& a, int i) : app(a), index(i), eos(a.config.guarantee() == processing_guarantee::exactly_once_v2) {
    name = fmt::format("{}-StreamThread-{}", app.config.application_id(), i + 1);
  }

  void log(const std::string& m) const {
    if (app.config.get_or("eddy.log", "true") == "true") std::cerr << fmt::format("[{}] {}\n", name, m);
  }

  // ---- record_sink -------------------------------------------------------------------
  int32_t partitions_of(const std::string& topic) override {
    auto it = app.partitions.find(topic);
    return it == app.partitions.end() ? -1 : it->second;
  }

  void send(const std::string& topic, int32_t partition, const std::optional<std::string>& key,
            const std::optional<std::string>& value, int64_t ts, const headers& hdrs) override {
    dirty = true;
    if (committing) {
      rd_kafka_topic_t* rkt = topic_handle(topic);
      if (!rkt) {  // produce_error belongs to the committer's delivery reports meanwhile
        held_error = fmt::format("producing to {} failed: {}", topic, rd_kafka_err2str(rd_kafka_last_error()));
        return;
      }
      held.push_back({rkt, partition, key, value, ts, hdrs});
      held_bytes += 64 + topic.size() + (key ? key->size() : 0) + (value ? value->size() : 0);
      return;
    }
    begin_txn_if_needed();
    rd_kafka_topic_t* rkt = topic_handle(topic);
    if (!rkt) {
      on_produce_error(topic, rd_kafka_err2str(rd_kafka_last_error()));
      return;
    }
    produce(rkt, partition, key, value, ts, hdrs);
  }

  void produce(rd_kafka_topic_t* rkt, int32_t partition, const std::optional<std::string>& key,
               const std::optional<std::string>& value, int64_t ts, const headers& hdrs) {
    rd_kafka_headers_t* h = nullptr;
    if (!hdrs.empty()) {
      h = rd_kafka_headers_new(hdrs.size());
      for (auto& x : hdrs)
        rd_kafka_header_add(h, x.key.data(), static_cast<ssize_t>(x.key.size()), x.value ? x.value->data() : nullptr,
                            x.value ? static_cast<ssize_t>(x.value->size()) : 0);
    }
    for (;;) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          producer, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_KEY((key ? key->data() : nullptr), (key ? key->size() : 0)),
          RD_KAFKA_V_VALUE((value ? const_cast<char*>(value->data()) : nullptr), (value ? value->size() : 0)),
          RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(producer, 50);
        continue;
      }
      if (err) {
        if (h) rd_kafka_headers_destroy(h);
        on_produce_error(rd_kafka_topic_name(rkt), rd_kafka_err2str(err));
      }
      break;
    }
  }

  rd_kafka_topic_t* topic_handle(const std::string& topic) {
    auto it = producer_topics.find(topic);
    if (it != producer_topics.end()) return it->second;
    return producer_topics.emplace(topic, rd_kafka_topic_new(producer, topic.c_str(), nullptr)).first->second;
  }

  void on_produce_error(const std::string& topic, const std::string& err) {
    auto handler = app.config.production_handler_or_default();
    if (eos || handler(topic, err) == handler_response::fail) produce_error = fmt::format("producing to {} failed: {}", topic, err);
  }

  static void dr_cb(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<impl*>(opaque);
    if (m->err) {
      self->on_produce_error(rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
      return;
    }
    auto& o = self->delivered.try_emplace({m->rkt, m->partition}, -1).first->second;
    o = std::max(o, m->offset);
  }

  // ---- clients -------------------------------------------------------------------------
  bool create_clients() {
    std::string error;
    char err[512];
    std::string app_id = app.config.application_id();
    std::map<std::string, std::string> cdef = {{"auto.offset.reset", "earliest"},
                                               {"session.timeout.ms", "10000"},
                                               {"heartbeat.interval.ms", "1000"},
                                               {"topic.metadata.refresh.interval.ms", "5000"},
                                               // librdkafka 2.0.2 stops fetching once its queue holds
                                               // queued.min.messages (default 100000, which one 8-partition fetch
                                               // response nearly fills) and looks again only on its 1 s broker
                                               // tick: on a backlog the thread sat idle a third of the time. The
                                               // bound is then queued.max.messages.kbytes (64 MB), which the
                                               // thread takes well over a second to drain.
                                               {"queued.min.messages", "1000000"},
                                               // One fetch is in flight per broker: a long poll on partitions
                                               // without new data (an input at its end) holds back repartition
                                               // records a commit just made visible.
                                               {"fetch.wait.max.ms", "100"}};
    // Static membership (KIP-345): the instance id is derived from the process id persisted in
    // the state dir, so an instance restarted after a crash (kill -9) on the same state dir
    // takes its old member's place at once instead of waiting session.timeout.ms for the dead
    // member to expire. A user-set group.instance.id is used as the prefix instead.
    std::string instance = app.config.get_or("consumer.group.instance.id", app.config.get_or("group.instance.id", ""));
    instance = instance.empty() ? fmt::format("{}-{}-{}", app_id, app.process_id, index + 1) : fmt::format("{}-{}", instance, index + 1);
    std::map<std::string, std::string> cforce = {{"group.id", app_id},
                                                 {"group.instance.id", instance},
                                                 {"enable.auto.commit", "false"},
                                                 {"enable.auto.offset.store", "false"},
                                                 {"partition.assignment.strategy", "range"},
                                                 {"isolation.level", eos ? "read_committed" : "read_uncommitted"},
                                                 {"client.id", name + "-consumer"}};
    rd_kafka_conf_t* cc = make_conf(app.config, client_kind::consumer, cdef, cforce, error);
    if (!cc) return fail(error);
    rd_kafka_conf_set_opaque(cc, this);
    rd_kafka_conf_set_rebalance_cb(cc, &impl::rebalance_cb);
    consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof err);
    if (!consumer) return fail(err);
    rd_kafka_poll_set_consumer(consumer);

    std::map<std::string, std::string> pdef = {{"linger.ms", "5"}, {"partitioner", "murmur2_random"},
                                               {"transaction.timeout.ms", "10000"}};
    std::map<std::string, std::string> pforce = {{"client.id", name + "-producer"}};
    if (eos) {
      pforce["transactional.id"] = fmt::format("{}-{}-{}", app_id, app.process_id, index + 1);
      pforce["enable.idempotence"] = "true";
    }
    rd_kafka_conf_t* pc = make_conf(app.config, client_kind::producer, pdef, pforce, error);
    if (!pc) return fail(error);
    rd_kafka_conf_set_opaque(pc, this);
    rd_kafka_conf_set_dr_msg_cb(pc, &impl::dr_cb);
    producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
    if (!producer) return fail(err);
    warm_up_producer_metadata();
    if (eos) {
      // Fences older producers with our transactional id and aborts their open transaction.
      for (int attempt = 0;; ++attempt) {
        rd_kafka_error_t* e = rd_kafka_init_transactions(producer, kTxnTimeoutMs);
        if (!e) break;
        bool retry = rd_kafka_error_is_retriable(e) && attempt < 10 && !*stop;
        std::string msg = error_text(e);
        rd_kafka_error_destroy(e);
        if (!retry) return fail("init_transactions failed: " + msg + " (is the broker reachable and does it support transactions?)");
      }
    }
    // The restorer reads to the end of changelog partitions and stops at PARTITION_EOF, which
    // only comes with an empty fetch response: keep its long poll short (a changelog ending
    // with a transaction marker would otherwise cost fetch.wait.max.ms = 500 ms per partition).
    std::map<std::string, std::string> rforce = {{"enable.auto.commit", "false"},
                                                 {"enable.partition.eof", "true"},
                                                 {"fetch.wait.max.ms", "10"},
                                                 {"isolation.level", eos ? "read_committed" : "read_uncommitted"},
                                                 {"client.id", name + "-restore-consumer"},
                                                 {"group.id", app_id + "-restore-unused"}};
    rd_kafka_conf_t* rc = make_conf(app.config, client_kind::restore, {{"auto.offset.reset", "earliest"}}, rforce, error);
    if (!rc) return fail(error);
    restorer = rd_kafka_new(RD_KAFKA_CONSUMER, rc, err, sizeof err);
    if (!restorer) return fail(err);
    rd_kafka_poll_set_consumer(restorer);

    rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(static_cast<int>(app.topo.sources.size()));
    for (auto& [topic, src] : app.topo.sources) rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
    auto serr = rd_kafka_subscribe(consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (serr) return fail(std::string("subscribe failed: ") + rd_kafka_err2str(serr));
    fatal = false;
    needs_rewind = false;
    in_txn = false;
    last_commit = now_ms();
    return true;
  }

  // Looks up the leaders of every topic this thread may write (sinks, repartition and
  // changelog topics) now, so the first records after a (re)start do not wait for a metadata
  // round trip inside the first transaction (about 0.3-0.5 s with librdkafka's defaults).
  void warm_up_producer_metadata() {
    std::set<std::string> names;
    for (auto& [name, t] : app.topo.internal_topics) names.insert(name);
    for (auto& n : app.topo.g->nodes)
      if (n.kind == detail::node_kind::sink && !n.sink.chooser) names.insert(app.topo.resolve(n.sink.topic));
    for (auto& n : names)
      if (app.partitions.count(n)) topic_handle(n);
    const rd_kafka_metadata_t* md = nullptr;
    if (!producer_topics.empty() && rd_kafka_metadata(producer, 0, nullptr, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR)
      rd_kafka_metadata_destroy(md);
  }

  bool fail(const std::string& msg) {
    log("error: " + msg);
    destroy_clients(false);
    if (app.on_fatal) app.on_fatal(msg);
    return false;
  }

  void destroy_clients(bool graceful) {
    finish_commit(true);
    if (consumer) {
      if (!graceful) fatal = true;  // the revoke callback must not commit
      if (graceful) leave_group();
      rd_kafka_consumer_close(consumer);
      rd_kafka_destroy(consumer);
      consumer = nullptr;
    }
    close_all_tasks();
    if (restorer) {
      rd_kafka_consumer_close(restorer);
      rd_kafka_destroy(restorer);
      restorer = nullptr;
    }
    if (producer) {
      if (in_txn && !fatal) {
        if (auto* e = rd_kafka_abort_transaction(producer, kTxnTimeoutMs)) rd_kafka_error_destroy(e);
      }
      rd_kafka_flush(producer, 5000);
      delivered.clear();
      for (auto& [name, t] : producer_topics)
        if (t) rd_kafka_topic_destroy(t);
      producer_topics.clear();
      rd_kafka_destroy(producer);
      producer = nullptr;
    }
    in_txn = false;
  }

  // A static member does not send LeaveGroup when its consumer is closed (KIP-345), but it does
  // when it unsubscribes: leave explicitly on a graceful shutdown, so other instances take over
  // its partitions at once (as with dynamic members) rather than after session.timeout.ms.
  // The revoke must be served before rd_kafka_consumer_close: a static member terminating
  // skips the LeaveGroup.
  void leave_group() {
    revoked = false;
    rd_kafka_topic_partition_list_t* assigned = nullptr;
    bool has_assignment = rd_kafka_assignment(consumer, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR && assigned && assigned->cnt > 0;
    if (assigned) rd_kafka_topic_partition_list_destroy(assigned);
    if (rd_kafka_unsubscribe(consumer) != RD_KAFKA_RESP_ERR_NO_ERROR || !has_assignment) return;
    auto deadline = now_ms() + 5000;
    while (!revoked && now_ms() < deadline) {
      // Records still arriving are not processed (nor committed): dropped.
      if (rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 10)) rd_kafka_message_destroy(m);
    }
  }

  // ---- tasks -----------------------------------------------------------------------------
  task_env env() {
    task_env e;
    e.topo = &app.topo;
    e.config = &app.config;
    e.sink = this;
    std::string dir = (std::filesystem::path(app.config.state_dir()) / app.config.application_id()).string();
    e.open_store = [this, dir](const detail::store_spec& spec, task_id id,
                               std::string& error) -> std::unique_ptr<state::committed_store> {
      if (!spec.persistent) return std::make_unique<state::memory_store>();
      // Another stream thread of this process may still hold the task's store: in an eager
      // rebalance it suspended the task and keeps it open until its own assignment arrives, which
      // can come after ours. Wait for it to close the store (RocksDB's LOCK file) rather than fail
      // the app, as Kafka Streams retries its task directory lock. Other errors fail at once.
      auto path = (std::filesystem::path(dir) / id.str() / spec.name).string();
      auto t0 = now_ms();
      for (bool waited = false;; waited = true) {
        auto s = state::rocksdb_store::open(path, error);
        if (s && waited) log(fmt::format("task {}: waited {} ms for another thread to close its store", id.str(), now_ms() - t0));
        if (s || error.find("/LOCK") == std::string::npos || *stop || now_ms() - t0 > 60000) return s;
        error.clear();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    };
    e.wall_clock = &now_ms;
    return e;
  }

  void close_task(std::unique_ptr<task>& t) {
    t->abort();
    t->close();
  }

  void close_all_tasks() {
    for (auto& [id, t] : tasks) close_task(t);
    for (auto& [id, t] : suspended) close_task(t);
    tasks.clear();
    suspended.clear();
  }

  static void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque) {
    static_cast<impl*>(opaque)->on_rebalance(rk, err, parts);
  }

  void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      std::set<task_id> wanted;
      for (int i = 0; i < parts->cnt; ++i) {
        auto it = app.topo.sources.find(parts->elems[i].topic);
        if (it != app.topo.sources.end()) wanted.insert({it->second.first, parts->elems[i].partition});
      }
      // Suspended tasks not reassigned are closed; reassigned ones resume with their state.
      for (auto it = suspended.begin(); it != suspended.end();) {
        if (!wanted.count(it->first)) {
          close_task(it->second);
          it = suspended.erase(it);
        } else ++it;
      }
      std::vector<task_id> fresh;
      for (auto& id : wanted) {
        if (auto s = suspended.find(id); s != suspended.end()) {
          // Normally nobody processed it in between; if another member did (this one missed
          // a rebalance), its changelog has moved on: replay the tail past the stores' offsets
          // (usually nothing, one watermark lookup per store).
          std::string rerr;
          int64_t n = restore_task(restorer, *s->second, *stop, rerr);
          if (!rerr.empty()) {
            log("error: " + rerr);
            if (app.on_fatal) app.on_fatal(rerr);
            *stop = true;
          } else if (n > 0) {
            log(fmt::format("resumed task {} replayed {} changelog records written meanwhile", id.str(), n));
          }
          tasks[id] = std::move(s->second);
          suspended.erase(s);
        } else {
          fresh.push_back(id);
        }
      }
      // Opening a RocksDB store replays its unflushed WAL (bounded by the memtable size): open
      // the new tasks' stores in parallel, then restore their changelog tails one by one.
      auto t_open = now_ms();
      std::vector<std::unique_ptr<task>> opened(fresh.size());
      std::vector<std::string> open_errors(fresh.size());
      {
        std::atomic<size_t> next{0};
        auto work = [&] {
          for (size_t i; (i = next++) < fresh.size();) {
            opened[i] = std::make_unique<task>(fresh[i], env());
            open_errors[i] = opened[i]->open_stores();
          }
        };
        size_t n = std::min<size_t>(fresh.size(), std::max(2u, std::thread::hardware_concurrency()));
        std::vector<std::thread> workers;
        for (size_t w = 1; w < n; ++w) workers.emplace_back(work);
        work();
        for (auto& w : workers) w.join();
      }
      if (!fresh.empty() && now_ms() - t_open >= 100)
        log(fmt::format("opened the stores of {} tasks in {} ms", fresh.size(), now_ms() - t_open));
      for (size_t i = 0; i < fresh.size(); ++i) {
        auto& id = fresh[i];
        auto& t = opened[i];
        if (auto& e = open_errors[i]; !e.empty()) {
          log("error: " + e);
          if (app.on_fatal) app.on_fatal(e);
          *stop = true;
          continue;
        }
        auto t0 = now_ms();
        std::string rerr;
        int64_t n = restore_task(restorer, *t, *stop, rerr);
        if (!rerr.empty()) {
          log("error: " + rerr);
          if (app.on_fatal) app.on_fatal(rerr);
          *stop = true;
          continue;
        }
        if (n > 0) log(fmt::format("task {} restored {} changelog records in {} ms", id.str(), n, now_ms() - t0));
        t->init_processors();
        tasks[id] = std::move(t);
      }
      suspended.clear();
      rd_kafka_assign(rk, parts);
      app.rebalancing = 0;
      if (app.on_thread_state) app.on_thread_state(index, true);
    } else {
      app.rebalancing = 1;
      revoked = true;
      finish_commit(true);
      if (app.on_thread_state) app.on_thread_state(index, false);
      bool lost = rd_kafka_assignment_lost(rk);
      if (!lost && !fatal) commit(true);
      if (lost || fatal || needs_rewind) {
        if (in_txn && !fatal) abort_txn();
        close_all_tasks();
      } else {
        for (auto& [id, t] : tasks) {
          t->abort();  // drops buffered (unprocessed) records; stores were just committed
          suspended[id] = std::move(t);
        }
        tasks.clear();
      }
      rd_kafka_assign(rk, nullptr);
    }
  }

  // ---- transactions and commits -----------------------------------------------------------
  void begin_txn_if_needed() {
    if (!eos || in_txn || committing || fatal) return;
    if (rd_kafka_error_t* e = rd_kafka_begin_transaction(producer)) {
      log("begin_transaction failed: " + error_text(e));
      if (rd_kafka_error_is_fatal(e)) fatal = true;
      rd_kafka_error_destroy(e);
      return;
    }
    in_txn = true;
    delivered.clear();
  }

  void abort_txn() {
    if (rd_kafka_error_t* e = rd_kafka_abort_transaction(producer, kTxnTimeoutMs)) {
      // Fatal or not, the transaction's fate is unknown (a commit may have gone through before
      // the failure): rebuild the clients so the tasks restore from their changelogs.
      log("abort_transaction failed: " + error_text(e) + "; rebuilding clients");
      fatal = true;
      rd_kafka_error_destroy(e);
    }
    in_txn = false;
    for (auto& [id, t] : tasks) t->abort();
    needs_rewind = true;
    delivered.clear();
  }

  rd_kafka_topic_partition_list_t* consumed_offsets() {
    rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(8);
    for (auto& [id, t] : tasks)
      for (auto& [tp, off] : t->consumed()) rd_kafka_topic_partition_list_add(l, tp.first.c_str(), tp.second)->offset = off;
    return l;
  }

  void apply_stores() {
    std::map<std::pair<std::string, int32_t>, int64_t> by_name;
    for (auto& [tp, off] : delivered) by_name[{rd_kafka_topic_name(tp.first), tp.second}] = off;
    for (auto& [id, t] : tasks)
      t->commit_stores([&](const std::string& topic, int32_t p) {
        auto it = by_name.find({topic, p});
        return it == by_name.end() ? -1 : it->second;
      });
    delivered.clear();
  }

  // Returns true if everything processed so far is committed.
  bool commit(bool force) {
    last_commit = now_ms();
    if (eos && (!finish_commit(true) || needs_rewind || fatal)) return false;
    if (!dirty && !in_txn) return true;
    if (!produce_error.empty()) {
      std::string e = produce_error;
      produce_error.clear();
      if (!eos) {
        if (app.on_fatal) app.on_fatal(e);
        *stop = true;
        return false;
      }
      log(e + "; aborting the transaction");
      abort_txn();
      return false;
    }
    auto* offsets = consumed_offsets();
    for (auto& [id, t] : tasks) t->seal_stores();
    if (eos) {
      if (!start_commit(offsets)) return false;
      return !force || finish_commit(true);
    }
    bool ok = commit_alos(offsets);
    rd_kafka_topic_partition_list_destroy(offsets);
    if (ok) {
      dirty = false;
      ++app.commits;
    }
    return ok;
  }

  // Hands the commit of the open transaction to the committer thread (takes offsets).
  bool start_commit(rd_kafka_topic_partition_list_t* offsets) {
    if (!in_txn) begin_txn_if_needed();
    if (!in_txn) {  // the sealed writes stay sealed, committed with the next transaction
      rd_kafka_topic_partition_list_destroy(offsets);
      return false;
    }
    rd_kafka_consumer_group_metadata_t* md = offsets->cnt > 0 ? rd_kafka_consumer_group_metadata(consumer) : nullptr;
    commit_offsets = offsets;
    commit_error = nullptr;
    commit_what = nullptr;
    committing = true;
    in_txn = false;
    dirty = false;
    committer_thread.start([this, md] {
      if (md) {
        rd_kafka_error_t* e = rd_kafka_send_offsets_to_transaction(producer, commit_offsets, md, kTxnTimeoutMs);
        rd_kafka_consumer_group_metadata_destroy(md);
        if (e) {
          commit_error = e;
          commit_what = "send_offsets_to_transaction";
          return;
        }
      }
      // A retriable error leaves the outcome open: librdkafka wants commit_transaction called
      // again, which completes (or reports) the same transaction.
      rd_kafka_error_t* ce = nullptr;
      for (int attempt = 0; (ce = rd_kafka_commit_transaction(producer, kTxnTimeoutMs)) && attempt < 3; ++attempt) {
        if (!rd_kafka_error_is_retriable(ce) || *stop) break;
        log("commit_transaction failed: " + error_text(ce) + "; retrying");
        rd_kafka_error_destroy(ce);
      }
      if (ce) {
        commit_error = ce;
        commit_what = "commit_transaction";
      }
    });
    return true;
  }

  // Completes the commit in flight, if any (wait = false: only if it is done). On success the
  // stores commit their sealed writes and the held records are produced in a new transaction;
  // on failure the transaction is aborted (held records dropped, to be reprocessed). Returns
  // false if a commit is still in flight or the one in flight failed.
  bool finish_commit(bool wait) {
    if (!committing) return true;
    if (!wait && committer_thread.busy()) return false;
    committer_thread.wait();
    committing = false;
    rd_kafka_topic_partition_list_destroy(commit_offsets);
    commit_offsets = nullptr;
    if (rd_kafka_error_t* e = commit_error) {
      commit_error = nullptr;
      held.clear();
      held_bytes = 0;
      held_error.clear();
      return txn_failed(commit_what, e);
    }
    rd_kafka_poll(producer, 0);  // serve remaining delivery reports before reading offsets
    // Cannot happen after a successful commit (all records were acknowledged), but be safe.
    produce_error = std::move(held_error);
    held_error.clear();
    apply_stores();
    ++app.commits;
    if (!held.empty()) {
      begin_txn_if_needed();
      auto records = std::move(held);
      held.clear();
      held_bytes = 0;
      for (auto& r : records) produce(r.rkt, r.partition, r.key, r.value, r.ts, r.hdrs);
      dirty = true;
    }
    return true;
  }

  bool txn_failed(const char* what, rd_kafka_error_t* e) {
    std::string msg = error_text(e);
    bool fatal_err = rd_kafka_error_is_fatal(e);
    bool abortable = rd_kafka_error_txn_requires_abort(e);
    rd_kafka_error_destroy(e);
    log(fmt::format("{} failed: {}{}", what, msg, fatal_err ? " (fatal: producer fenced or failed; rejoining)" : ""));
    if (fatal_err) {
      fatal = true;
      in_txn = false;
      for (auto& [id, t] : tasks) t->abort();
    } else if (abortable || std::string_view(what) != "commit_transaction") {
      abort_txn();  // the transaction did not commit: abort and reprocess from committed offsets
    } else {
      // commit_transaction kept failing without saying whether the transaction committed.
      // Applying the staged store writes could be wrong and so could dropping them: rebuild
      // the clients and reopen the tasks, whose stores then replay the changelog tail that
      // the transaction did or did not commit (read_committed decides).
      log("commit outcome unknown; rebuilding clients and restoring the stores from their changelogs");
      fatal = true;
      in_txn = false;
      for (auto& [id, t] : tasks) t->abort();
    }
    return false;
  }

  bool commit_alos(rd_kafka_topic_partition_list_t* offsets) {
    if (rd_kafka_flush(producer, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      log("flush timed out; will retry");
      return false;
    }
    if (!produce_error.empty()) return false;
    apply_stores();
    if (offsets->cnt > 0) {
      auto err = rd_kafka_commit(consumer, offsets, 0);
      if (err) {
        log(std::string("offset commit failed: ") + rd_kafka_err2str(err));
        return false;
      }
    }
    return true;
  }

  // After an aborted transaction: forget in-flight state and reconsume from committed offsets.
  void rewind() {
    needs_rewind = false;
    rd_kafka_topic_partition_list_t* assigned = nullptr;
    if (rd_kafka_assignment(consumer, &assigned) || !assigned) return;
    if (assigned->cnt > 0) {
      rd_kafka_committed(consumer, assigned, 10000);
      for (int i = 0; i < assigned->cnt; ++i)
        if (assigned->elems[i].offset < 0) assigned->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
      if (auto* e = rd_kafka_seek_partitions(consumer, assigned, 10000)) rd_kafka_error_destroy(e);
    }
    rd_kafka_topic_partition_list_destroy(assigned);
    for (auto& [id, t] : tasks) t->reset();  // committed store state is intact; processors start afresh
    dirty = false;
  }

  // ---- main loop ------------------------------------------------------------------------------
  void run() {
    int64_t interval = app.config.commit_interval_ms();
    while (!*stop) {
      if (!consumer) {
        if (!create_clients()) return;
      }
      for (int i = 0; i < 1000 && !*stop; ++i) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, i == 0 ? (committing ? 1 : 20) : 0);
        if (!m) break;
        if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
          // E.g. FENCED_INSTANCE_ID: another live instance with the same process id (the same
          // state dir) took over this thread's static membership. Not recoverable here.
          char reason[512];
          rd_kafka_fatal_error(consumer, reason, sizeof reason);
          rd_kafka_message_destroy(m);
          std::string e = fmt::format("the group consumer failed: {} (is another instance running with the same "
                                      "state.dir? each instance needs its own)", reason);
          log("error: " + e);
          if (app.on_fatal) app.on_fatal(e);
          *stop = true;
          fatal = true;
          break;
        }
        if (m->err) {
          if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) log(std::string("consumer: ") + rd_kafka_message_errstr(m));
          rd_kafka_message_destroy(m);
          continue;
        }
        route(m);
        rd_kafka_message_destroy(m);
      }
      if (fatal) {
        recover_from_fatal();
        continue;
      }
      for (auto& [id, t] : tasks) {
        if (t->buffered() == 0) continue;
        if (committing && held_bytes >= kMaxHeldBytes && (!finish_commit(true) || needs_rewind || fatal)) break;
        begin_txn_if_needed();
        std::string err;
        int64_t n = 0;
        while ((!committing || held_bytes < kMaxHeldBytes) && t->process_next(err)) ++n;
        app.processed += n;
        dirty = dirty || n > 0;
        if (!err.empty()) {
          log("error: " + err);
          if (app.on_fatal) app.on_fatal(err);
          *stop = true;
          break;
        }
      }
      if (!tasks.empty() && !needs_rewind && !fatal) {
        begin_txn_if_needed();
        for (auto& [id, t] : tasks) t->punctuate_wall_clock();
      }
      if (committing) finish_commit(false);
      if (!committing) rd_kafka_poll(producer, 0);
      if (now_ms() - last_commit >= interval) commit(false);
      if (fatal) recover_from_fatal();
      else if (needs_rewind) rewind();
    }
    // Graceful shutdown: commit what was processed, then leave the group.
    if (consumer && !fatal) commit(true);
    destroy_clients(true);
  }

  void route(rd_kafka_message_t* m) {
    std::string topic = rd_kafka_topic_name(m->rkt);
    auto src = app.topo.sources.find(topic);
    if (src == app.topo.sources.end()) return;
    auto it = tasks.find({src->second.first, m->partition});
    if (it == tasks.end()) return;
    std::optional<std::string> key, value;
    if (m->key) key.emplace(static_cast<const char*>(m->key), m->key_len);
    if (m->payload) value.emplace(static_cast<const char*>(m->payload), m->len);
    headers hdrs;
    rd_kafka_headers_t* h = nullptr;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR && h) {
      const char* name;
      const void* val;
      size_t size;
      for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
        hdrs.push_back({name, val ? std::optional<std::string>(std::string(static_cast<const char*>(val), size)) : std::nullopt});
    }
    it->second->enqueue(topic, m->partition, m->offset, std::move(key), std::move(value),
                        rd_kafka_message_timestamp(m, nullptr), std::move(hdrs));
  }

  void recover_from_fatal() {
    log("rebuilding clients after a fatal producer error (fenced by a newer instance or a timeout)");
    destroy_clients(false);
    fatal = false;
  }
};

stream_thread::stream_thread(app_context& ctx, int index) : impl_(std::make_unique<impl>(ctx, index)) {
  impl_->stop = &stop_;
}

stream_thread::~stream_thread() {
  stop_ = true;
  join();
}

void stream_thread::start() {
  thread_ = std::thread([this] { impl_->run(); });
}

void stream_thread::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace eddy::streams::runtime
