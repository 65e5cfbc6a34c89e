// streams_bench: throughput and crash recovery of Eddy Streams apps on an embedded Eddy broker.
//
// 1. Throughput: word count and page-view count (the samples' topologies: both re-key and go
//    through a repartition topic), 100-byte input records on a 4-partition input topic,
//    pre-loaded before the app starts; one app (one process: this one, one stream thread) per
//    run, under exactly_once_v2 and at_least_once, every other setting equal and
//    commit.interval.ms left at its default (100 ms under exactly-once, 30000 ms under
//    at-least-once). A run is timed from app.start() until every input record and every
//    repartitioned record is processed and close() has committed it (outputs flushed and input
//    offsets committed; under exactly-once the last transaction committed). Prints records/s
//    and the EOS/ALO ratio, plus the steady-state rate between 10% and 90% processed (without
//    start-up and the final drain, which cost exactly-once about one more commit cycle).
//    Goal: exactly-once >= 90% of at-least-once.
// 2. Recovery: an exactly-once count-by-key app holding K keys of state runs as a child process
//    (this program re-executed with --child, started by posix_spawn), under a trickle of fresh
//    records (one every 5 ms), is killed with SIGKILL, and restarted on the same state dir. The
//    bench prints the time from the restart to (a) the app reporting RUNNING and (b) the first
//    output of a record produced after the restart being readable by a read_committed consumer.
//    Run for 1M keys and for 10k keys. Goal: under 2 s regardless of state size. It also checks
//    exactly-once on the way: every fresh key must be counted once (a count of 2 = a duplicate).
//
// The child's stderr (the app's log) goes to <tmp>/streams_bench-<pid>/recovery-<K>.log; --keep
// keeps it. --set key=value (repeatable) adds a setting to every app, the children included, e.g.
// --set debug=eos to see librdkafka's transaction timeline, or --set producer.linger.ms=1.
//
// The broker always runs embedded in this (the parent) process, so it survives the kill -9.
//
//   streams_bench [--records N] [--wordcount-records N] [--rounds R] [--keys K1,K2,...]
//                 [--kills N] [--apps pageviews,wordcount] [--guarantees exactly_once_v2,at_least_once]
//                 [--set key=value ...] [--timeline] [--skip-throughput] [--skip-recovery] [--keep]
// --timeline prints processed records and commits every 250 ms of each throughput run.
// Defaults: --records 1000000 (page views) --wordcount-records 200000 --rounds 2
//           --keys 1000000,10000 --kills 2 (about 70 s on a lightly loaded 2-core machine).
// Word count lines are ~16 words, so each line is ~17 records to process (the line and its
// words through the repartition topic); its input count is smaller to keep runs comparable.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include "eddy/broker/embedded_broker.h"
#include "eddy/streams/streams.h"

extern char** environ;

namespace {

using namespace eddy::streams;
using clock_type = std::chrono::steady_clock;
constexpr int kPartitions = 4;
constexpr size_t kRecordBytes = 100;

[[noreturn]] void die(const std::string& msg) {
  fmt::print(stderr, "streams_bench: {}\n", msg);
  std::fflush(stdout);
  std::exit(1);
}

double secs_since(clock_type::time_point t0) { return std::chrono::duration<double>(clock_type::now() - t0).count(); }
int64_t mono_ns() { return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count(); }

// ---- librdkafka helpers ---------------------------------------------------------------------

rd_kafka_t* make_client(rd_kafka_type_t type, const std::string& bootstrap, std::map<std::string, std::string> extra = {}) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  extra["bootstrap.servers"] = bootstrap;
  if (!extra.count("log_level")) extra["log_level"] = "3";
  for (auto& [k, v] : extra)
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) die(k + ": " + err);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) die(std::string("rd_kafka_new: ") + err);
  return rk;
}

void create_topics(const std::string& bootstrap, const std::vector<std::string>& names, int partitions) {
  rd_kafka_t* a = make_client(RD_KAFKA_PRODUCER, bootstrap);
  char err[512];
  std::vector<rd_kafka_NewTopic_t*> nts;
  for (auto& n : names) nts.push_back(rd_kafka_NewTopic_new(n.c_str(), partitions, 1, err, sizeof err));
  rd_kafka_queue_t* q = rd_kafka_queue_new(a);
  rd_kafka_CreateTopics(a, nts.data(), nts.size(), nullptr, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
  if (!ev || rd_kafka_event_error(ev)) die("CreateTopics failed");
  size_t n = 0;
  auto** res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
  for (size_t i = 0; i < n; ++i)
    if (auto e = rd_kafka_topic_result_error(res[i]); e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
      die(fmt::format("create {}: {}", rd_kafka_topic_result_name(res[i]), rd_kafka_err2str(e)));
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  for (auto* nt : nts) rd_kafka_NewTopic_destroy(nt);
  rd_kafka_destroy(a);
}

// Produces n records made by gen(i, key, value) as fast as possible (acks=all, idempotent).
void produce_all(const std::string& bootstrap, const std::string& topic, int64_t n,
                 const std::function<void(int64_t, std::string&, std::string&)>& gen) {
  rd_kafka_t* p = make_client(RD_KAFKA_PRODUCER, bootstrap,
                              {{"linger.ms", "20"}, {"batch.size", "1000000"}, {"queue.buffering.max.messages", "500000"},
                               {"partitioner", "murmur2_random"}});
  std::string k, v;
  for (int64_t i = 0; i < n; ++i) {
    gen(i, k, v);
    for (;;) {
      auto err = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                   RD_KAFKA_V_KEY(k.empty() ? nullptr : k.data(), k.size()),
                                   RD_KAFKA_V_VALUE(v.data(), v.size()), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(p, 5);
        continue;
      }
      if (err) die(std::string("produce: ") + rd_kafka_err2str(err));
      break;
    }
    if ((i & 4095) == 0) rd_kafka_poll(p, 0);
  }
  if (rd_kafka_flush(p, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR) die("pre-load flush timed out");
  rd_kafka_destroy(p);
}

// Sum over partitions of a group's committed offsets of a topic (-1 partitions count as 0).
int64_t committed_offsets(rd_kafka_t* consumer, const std::string& topic) {
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(kPartitions);
  for (int p = 0; p < kPartitions; ++p) rd_kafka_topic_partition_list_add(l, topic.c_str(), p);
  int64_t sum = 0;
  if (rd_kafka_committed(consumer, l, 10000)) sum = -1;
  else
    for (int i = 0; i < l->cnt; ++i) sum += std::max<int64_t>(0, l->elems[i].offset);
  rd_kafka_topic_partition_list_destroy(l);
  return sum;
}

// ---- input generators -----------------------------------------------------------------------

std::vector<std::string> vocabulary(size_t n) {
  std::mt19937 rng(7);
  std::vector<std::string> words;
  for (size_t i = 0; i < n; ++i) {
    std::string w;
    size_t len = 3 + rng() % 6;
    for (size_t j = 0; j < len; ++j) w += static_cast<char>('a' + rng() % 26);
    words.push_back(w);
  }
  return words;
}

std::vector<std::string> words_of(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    size_t j = line.find(' ', i);
    if (j == std::string::npos) j = line.size();
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// ---- 1. throughput ------------------------------------------------------------------------------

enum class app_kind { wordcount, pageviews };
const char* name(app_kind k) { return k == app_kind::wordcount ? "wordcount" : "pageviews"; }

topology build(app_kind k, const std::string& input, const std::string& output) {
  stream_builder b;
  if (k == app_kind::wordcount) {
    b.stream<std::string, std::string>(input)
        .flat_map_values([](const std::string& line) { return words_of(line); })
        .group_by([](const std::string&, const std::string& word) { return word; })
        .count(materialized<std::string, int64_t>::as("word-counts"))
        .to_stream()
        .to(output);
  } else {
    b.stream<std::string, std::string>(input)
        .group_by([](const std::string&, const std::string& page) { return page.substr(0, page.find(' ')); })
        .count(materialized<std::string, int64_t>::as("page-view-counts"))
        .to_stream()
        .map_values([](int64_t n) { return std::to_string(n); })
        .to(output);
  }
  return b.build();
}

struct input_set {
  std::string topic;
  int64_t records = 0;
  int64_t to_process = 0;  // input records + repartitioned records
};

input_set preload(const std::string& bs, app_kind k, int64_t n) {
  input_set in;
  in.topic = fmt::format("{}-input", name(k));
  in.records = n;
  create_topics(bs, {in.topic}, kPartitions);
  int64_t words = 0;
  auto vocab = vocabulary(5000);
  std::mt19937 rng(42);
  produce_all(bs, in.topic, n, [&](int64_t i, std::string& key, std::string& value) {
    value.clear();
    if (k == app_kind::wordcount) {
      // A line of words, 100 bytes with its (empty) key.
      key.clear();
      for (;;) {
        auto& w = vocab[rng() % vocab.size()];
        if (value.size() + w.size() + 1 > kRecordBytes) break;
        if (!value.empty()) value += ' ';
        value += w;
        ++words;
      }
      value.append(kRecordBytes - value.size(), ' ');  // trailing spaces: no extra words
    } else {
      // key = user, value = page + padding: 100 bytes together.
      key = fmt::format("user-{:06}", rng() % 100000);
      value = fmt::format("/page/{:04}", rng() % 1000);
      value += ' ';
      value.append(kRecordBytes - key.size() - value.size(), 'x');
    }
    (void)i;
  });
  in.to_process = n + (k == app_kind::wordcount ? words : n);
  return in;
}

struct tp_result {
  double seconds = 0;
  double records_per_s = 0;
  double steady_per_s = 0;  // input records/s between 10% and 90% processed (no start-up or drain)
  int64_t commits = 0;
  int64_t commit_interval = 0;
  bool complete = false;
};

std::map<std::string, std::string> extra_settings;  // --set key=value
bool show_timeline = false;                         // --timeline

tp_result run_throughput(const std::string& bs, app_kind k, const input_set& in, bool eos, int round,
                         const std::string& state_root) {
  std::string app_id = fmt::format("{}-{}-{}", name(k), eos ? "eos" : "alo", round);
  std::string output = app_id + "-output";
  create_topics(bs, {output}, kPartitions);
  streams_config cfg{{"application.id", app_id},
                     {"bootstrap.servers", bs},
                     {"processing.guarantee", eos ? "exactly_once_v2" : "at_least_once"},
                     {"state.dir", state_root + "/" + app_id},
                     {"eddy.log", "false"}};
  for (auto& [key, v] : extra_settings) cfg.set(key, v);
  tp_result r;
  r.commit_interval = cfg.commit_interval_ms();
  streams_app app(build(k, in.topic, output), cfg);
  auto t0 = clock_type::now();
  if (auto st = app.start(); !st.ok) die("app start: " + st.message);
  auto deadline = t0 + std::chrono::minutes(5);
  std::string timeline;
  auto next_sample = t0;
  std::optional<clock_type::time_point> t10, t90;  // 10% and 90% of the records processed
  while (app.processed_records() < in.to_process && clock_type::now() < deadline && app.state() != app_state::error) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    int64_t done = app.processed_records();
    if (!t10 && done >= in.to_process / 10) t10 = clock_type::now();
    if (!t90 && done >= in.to_process * 9 / 10) t90 = clock_type::now();
    if (show_timeline && clock_type::now() >= next_sample) {
      timeline += fmt::format(" {:.1f}:{}k/{}", secs_since(t0), app.processed_records() / 1000, app.commits());
      next_sample += std::chrono::milliseconds(250);
    }
  }
  if (show_timeline) fmt::print("  timeline (s:processed/commits):{}\n", timeline);
  app.close();  // commits what was processed: flushes outputs, commits offsets (the transaction)
  r.seconds = secs_since(t0);
  r.records_per_s = in.records / r.seconds;
  if (t10 && t90 && *t90 > *t10)
    r.steady_per_s = 0.8 * in.records / std::chrono::duration<double>(*t90 - *t10).count();
  r.commits = app.commits();
  // Check that all input offsets are committed.
  rd_kafka_t* c = make_client(RD_KAFKA_CONSUMER, bs, {{"group.id", app_id}, {"isolation.level", "read_committed"}});
  int64_t committed = committed_offsets(c, in.topic);
  rd_kafka_destroy(c);
  r.complete = app.processed_records() == in.to_process && committed == in.records;
  if (!r.complete)
    fmt::print("  warning: {} processed {} of {} records, {} of {} input offsets committed\n", app_id,
               app.processed_records(), in.to_process, committed, in.records);
  return r;
}

// ---- 2. recovery ----------------------------------------------------------------------------------

struct child {
  pid_t pid = -1;
  int out_fd = -1;  // its stdout: "event <name> <monotonic ns>" lines
  std::thread reader;
  std::mutex mu;
  std::map<std::string, int64_t> events;

  void wait_event(const std::string& e, std::chrono::seconds timeout) {
    auto end = clock_type::now() + timeout;
    while (clock_type::now() < end) {
      {
        std::lock_guard lk(mu);
        if (events.count(e)) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    die("child did not report " + e);
  }
  std::optional<int64_t> event(const std::string& e) {
    std::lock_guard lk(mu);
    auto it = events.find(e);
    return it == events.end() ? std::nullopt : std::optional<int64_t>(it->second);
  }
};

std::unique_ptr<child> spawn_child(const std::vector<std::string>& args, const std::string& log_file) {
  auto c = std::make_unique<child>();
  int fds[2];
  if (pipe(fds) != 0) die("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  posix_spawn_file_actions_addclose(&fa, fds[1]);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  if (int e = posix_spawn(&c->pid, "/proc/self/exe", &fa, nullptr, argv.data(), environ); e != 0)
    die(std::string("posix_spawn: ") + std::strerror(e));
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  c->out_fd = fds[0];
  c->reader = std::thread([p = c.get()] {
    FILE* f = fdopen(p->out_fd, "r");
    char line[256];
    while (f && std::fgets(line, sizeof line, f)) {
      char ev[64];
      long long ns = 0;
      if (std::sscanf(line, "event %63s %lld", ev, &ns) == 2) {
        std::lock_guard lk(p->mu);
        p->events.emplace(ev, ns);
      }
    }
    if (f) std::fclose(f);
  });
  return c;
}

void reap(std::unique_ptr<child>& c, int sig) {
  if (!c) return;
  kill(c->pid, sig);
  int status = 0;
  waitpid(c->pid, &status, 0);
  if (c->reader.joinable()) c->reader.join();
  c.reset();
}

// The child: an exactly-once count-by-key app (no repartition), reporting events on stdout.
int child_main(const std::map<std::string, std::string>& f) {
  // Die with the bench (it holds the broker): no orphan app retrying forever if the bench fails.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 1;
  stream_builder b;
  b.stream<std::string, std::string>(f.at("input"))
      .group_by_key()
      .count(materialized<std::string, int64_t>::as("key-counts"))
      .to_stream()
      .to(f.at("output"));
  streams_config cfg{{"application.id", f.at("app-id")},
                     {"bootstrap.servers", f.at("bootstrap")},
                     {"processing.guarantee", "exactly_once_v2"},
                     {"state.dir", f.at("state-dir")}};
  for (auto& [k, v] : f)
    if (k.rfind("set:", 0) == 0) cfg.set(k.substr(4), v);
  std::mutex mu;
  streams_app app(b.build(), cfg);
  app.set_state_listener([&](app_state, app_state to) {
    std::lock_guard lk(mu);
    std::printf("event %s %lld\n", to_string(to), static_cast<long long>(mono_ns()));
    std::fflush(stdout);
  });
  std::printf("event spawned %lld\n", static_cast<long long>(mono_ns()));
  std::fflush(stdout);
  if (auto st = app.start(); !st.ok) {
    std::fprintf(stderr, "child: %s\n", st.message.c_str());
    return 1;
  }
  {
    std::lock_guard lk(mu);
    std::printf("event started %lld\n", static_cast<long long>(mono_ns()));
    std::fflush(stdout);
  }
  for (;;) pause();  // until killed
}

struct rec_result {
  int64_t keys = 0;
  double build_s = 0;
  std::vector<double> running_s, output_s;  // per kill/restart cycle
  int64_t duplicates = 0, fresh_seen = 0;
};

rec_result run_recovery(const std::string& bs, int64_t keys, int kills, const std::string& root) {
  rec_result r;
  r.keys = keys;
  std::string app_id = fmt::format("recovery-{}", keys);
  std::string input = app_id + "-input", output = app_id + "-output";
  std::string state_dir = root + "/" + app_id;
  std::string log = root + "/" + app_id + ".log";
  create_topics(bs, {input, output}, kPartitions);
  produce_all(bs, input, keys, [](int64_t i, std::string& k, std::string& v) {
    k = fmt::format("key-{:010}", i);
    v.assign(kRecordBytes - k.size(), 'v');
  });
  std::vector<std::string> args = {"streams_bench", "--child", "count", "--bootstrap", bs, "--app-id", app_id,
                                   "--input", input, "--output", output, "--state-dir", state_dir};
  for (auto& [key, v] : extra_settings) {
    args.push_back("--set:" + key);
    args.push_back(v);
  }
  auto t0 = clock_type::now();
  auto ch = spawn_child(args, log);
  rd_kafka_t* gc = make_client(RD_KAFKA_CONSUMER, bs, {{"group.id", app_id}, {"isolation.level", "read_committed"}});
  while (committed_offsets(gc, input) < keys) {
    if (secs_since(t0) > 600) die(fmt::format("building the state of {} keys took more than 10 minutes", keys));
    int st = 0;
    if (waitpid(ch->pid, &st, WNOHANG) == ch->pid) die("child exited early; see " + log);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  r.build_s = secs_since(t0);

  // A trickle of fresh records (live-<seq>), one every 5 ms, from now until the end.
  std::atomic<int64_t> seq{0};
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    rd_kafka_t* p = make_client(RD_KAFKA_PRODUCER, bs, {{"linger.ms", "0"}});
    std::string v(kRecordBytes - 16, 'f');
    while (!stop) {
      std::string k = fmt::format("live-{:011}", seq.load());
      rd_kafka_producev(p, RD_KAFKA_V_TOPIC(input.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_KEY(k.data(), k.size()), RD_KAFKA_V_VALUE(v.data(), v.size()), RD_KAFKA_V_END);
      ++seq;
      rd_kafka_poll(p, 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    rd_kafka_flush(p, 10000);
    rd_kafka_destroy(p);
  });

  // read_committed reader of the output, from the current end.
  rd_kafka_t* reader = make_client(RD_KAFKA_CONSUMER, bs,
                                   {{"group.id", app_id + "-bench-reader"}, {"isolation.level", "read_committed"},
                                    {"fetch.wait.max.ms", "10"}, {"enable.auto.commit", "false"}});
  rd_kafka_poll_set_consumer(reader);
  auto read_fresh = [&](int64_t min_seq, double timeout_s) -> std::optional<int64_t> {
    auto until = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(timeout_s));
    std::optional<int64_t> first;
    while (clock_type::now() < until) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(reader, 10);
      if (!m) continue;
      if (!m->err && m->key && m->key_len > 5 && std::memcmp(m->key, "live-", 5) == 0) {
        int64_t s = std::atoll(std::string(static_cast<const char*>(m->key) + 5, m->key_len - 5).c_str());
        int64_t count = m->len == 8 ? serdes::int64().deserialize(std::string(static_cast<const char*>(m->payload), 8)) : -1;
        ++r.fresh_seen;
        if (count != 1) ++r.duplicates;
        if (s >= min_seq && !first) first = mono_ns();
      }
      rd_kafka_message_destroy(m);
      if (first) break;
    }
    return first;
  };
  {
    rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(kPartitions);
    for (int p = 0; p < kPartitions; ++p) {
      int64_t lo = 0, hi = 0;
      rd_kafka_query_watermark_offsets(reader, output.c_str(), p, &lo, &hi, 10000);
      rd_kafka_topic_partition_list_add(l, output.c_str(), p)->offset = hi;
    }
    rd_kafka_assign(reader, l);
    rd_kafka_topic_partition_list_destroy(l);
  }
  if (!read_fresh(0, 30)) die("the app does not process fresh records; see " + log);

  for (int k = 0; k < kills; ++k) {
    // Let it run with open transactions for a moment, then kill it mid-flight.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    reap(ch, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // some input arrives while it is down
    int64_t restart_ns = mono_ns();
    int64_t min_seq = seq.load();
    ch = spawn_child(args, log);
    auto first = read_fresh(min_seq, 60);
    if (!first) die(fmt::format("no fresh output within 60 s of restart {} ({} keys); see {}", k + 1, keys, log));
    r.output_s.push_back((*first - restart_ns) / 1e9);
    ch->wait_event("RUNNING", std::chrono::seconds(60));
    r.running_s.push_back((*ch->event("RUNNING") - restart_ns) / 1e9);
    fmt::print("  {} keys, restart {}: RUNNING after {:.3f} s, first fresh output after {:.3f} s\n", keys, k + 1,
               r.running_s.back(), r.output_s.back());
    std::fflush(stdout);
  }
  // Drain what is left to check the counts of fresh keys seen so far.
  read_fresh(INT64_MAX, 1.0);
  stop = true;
  trickle.join();
  reap(ch, SIGTERM);
  rd_kafka_consumer_close(reader);
  rd_kafka_destroy(reader);
  rd_kafka_destroy(gc);
  return r;
}

double best(const std::vector<double>& v) { return v.empty() ? 0 : *std::min_element(v.begin(), v.end()); }
double worst(const std::vector<double>& v) { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }

std::string load_avg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 2 && std::string(argv[1]) == "--child") {
    std::map<std::string, std::string> f;
    for (int i = 3; i + 1 < argc; i += 2) f[std::string(argv[i]).substr(2)] = argv[i + 1];
    return child_main(f);
  }
  int64_t records = 1000000, wc_records = 200000;
  int rounds = 2, kills = 2;
  std::vector<int64_t> key_sizes = {1000000, 10000};
  bool do_tp = true, do_rec = true, keep = false;
  std::string apps = "pageviews,wordcount", guarantees = "exactly_once_v2,at_least_once";
  const char* usage =
      "usage: streams_bench [--records N] [--wordcount-records N] [--rounds R] [--keys K1,K2,...] [--kills N]\n"
      "                     [--apps pageviews,wordcount] [--guarantees exactly_once_v2,at_least_once]\n"
      "                     [--set key=value ...] [--timeline] [--skip-throughput] [--skip-recovery] [--keep]";
  for (int a = 1; a < argc; ++a) {
    std::string k = argv[a];
    auto next = [&]() -> std::string {
      if (a + 1 >= argc) die("missing value for " + k + "\n" + usage);
      return argv[++a];
    };
    if (k == "--records") records = std::atoll(next().c_str());
    else if (k == "--wordcount-records") wc_records = std::atoll(next().c_str());
    else if (k == "--rounds") rounds = std::atoi(next().c_str());
    else if (k == "--kills") kills = std::atoi(next().c_str());
    else if (k == "--apps") apps = next();
    else if (k == "--set") {
      std::string kv = next();
      auto eq = kv.find('=');
      if (eq == std::string::npos) die("--set wants key=value");
      extra_settings[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    else if (k == "--guarantees") guarantees = next();
    else if (k == "--keys") {
      key_sizes.clear();
      std::stringstream ss(next());
      for (std::string x; std::getline(ss, x, ',');) key_sizes.push_back(std::atoll(x.c_str()));
    } else if (k == "--skip-throughput") do_tp = false;
    else if (k == "--skip-recovery") do_rec = false;
    else if (k == "--keep") keep = true;
    else if (k == "--timeline") show_timeline = true;
    else die(usage);
  }
  std::string cmdline;
  for (int a = 0; a < argc; ++a) cmdline += (a ? " " : "") + std::string(argv[a]);
  signal(SIGPIPE, SIG_IGN);

  std::string root = (std::filesystem::temp_directory_path() / fmt::format("streams_bench-{}", getpid())).string();
  std::filesystem::create_directories(root);
  eddy::broker::embedded_broker_options bo;
  bo.data_dir = root + "/broker";
  auto broker = std::make_unique<eddy::broker::embedded_broker>(bo);
  const std::string bs = broker->bootstrap_servers();
  fmt::print("command: {}\n", cmdline);
  fmt::print("embedded Eddy broker {} in this process; apps: librdkafka {}, 1 stream thread, {} input partitions, "
             "{}-byte records; load average at start: {}\n",
             bs, rd_kafka_version_str(), kPartitions, kRecordBytes, load_avg());
  std::fflush(stdout);

  struct tp_row {
    app_kind k;
    int64_t records;
    tp_result eos, alo;
    double eos_steady = 0, alo_steady = 0;
  };
  std::vector<tp_row> tp_rows;
  if (do_tp) {
    for (app_kind k : {app_kind::pageviews, app_kind::wordcount}) {
      if (apps.find(name(k)) == std::string::npos) continue;
      int64_t n = k == app_kind::wordcount ? wc_records : records;
      auto t0 = clock_type::now();
      input_set in = preload(bs, k, n);
      fmt::print("{}: pre-loaded {} records in {:.1f} s ({} records to process incl. repartitioned)\n", name(k), n,
                 secs_since(t0), in.to_process);
      tp_row row{k, n, {}, {}, 0, 0};
      for (int round = 0; round < rounds; ++round) {
        for (bool eos : {true, false}) {
          if (guarantees.find(eos ? "exactly_once_v2" : "at_least_once") == std::string::npos) continue;
          tp_result r = run_throughput(bs, k, in, eos, round, root);
          fmt::print("  round {} {:<14} {:>9.0f} records/s ({:.2f} s, {} commits, commit.interval.ms {}; steady {:.0f}/s){}\n",
                     round + 1, eos ? "exactly_once_v2" : "at_least_once", r.records_per_s, r.seconds, r.commits,
                     r.commit_interval, r.steady_per_s, r.complete ? "" : " INCOMPLETE");
          std::fflush(stdout);
          auto& b = eos ? row.eos : row.alo;
          if (r.records_per_s > b.records_per_s) b = r;
          auto& bs = eos ? row.eos_steady : row.alo_steady;
          bs = std::max(bs, r.steady_per_s);
        }
      }
      tp_rows.push_back(row);
    }
  }

  std::vector<rec_result> rec_rows;
  if (do_rec) {
    for (int64_t keys : key_sizes) {
      rec_result r = run_recovery(bs, keys, kills, root);
      fmt::print("recovery {} keys: state built in {:.1f} s; {} fresh outputs read, {} counted twice\n", keys, r.build_s,
                 r.fresh_seen, r.duplicates);
      rec_rows.push_back(r);
    }
  }

  fmt::print("\nstreams_bench results (best of {} rounds; load average now {})\n", rounds, load_avg());
  if (!tp_rows.empty()) {
    fmt::print("throughput, input records/s, from app start until everything is processed and committed:\n");
    fmt::print("  {:<10} {:>9} {:>16} {:>16} {:>9}  {:<11}  {}\n", "app", "records", "exactly_once_v2", "at_least_once",
               "EOS/ALO", "goal >= 90%", "steady state (10%-90% processed): EOS, ALO, EOS/ALO");
    for (auto& row : tp_rows) {
      double ratio = row.alo.records_per_s > 0 ? row.eos.records_per_s / row.alo.records_per_s : 0;
      double steady = row.alo_steady > 0 ? row.eos_steady / row.alo_steady : 0;
      fmt::print("  {:<10} {:>9} {:>16.0f} {:>16.0f} {:>8.1f}%  {:<11}  {:.0f}, {:.0f}, {:.1f}%\n", name(row.k), row.records,
                 row.eos.records_per_s, row.alo.records_per_s, 100 * ratio, ratio >= 0.9 ? "met" : "NOT met", row.eos_steady,
                 row.alo_steady, 100 * steady);
    }
    if (!tp_rows.empty())
      fmt::print("  commit.interval.ms defaults used: exactly_once_v2 {} ms, at_least_once {} ms\n",
                 tp_rows[0].eos.commit_interval, tp_rows[0].alo.commit_interval);
  }
  if (!rec_rows.empty()) {
    fmt::print("recovery after kill -9 (exactly_once_v2 count by key, {} restarts each), seconds from restart:\n", kills);
    fmt::print("  {:>9} {:>14} {:>14} {:>18} {:>18}  {}\n", "keys", "RUNNING best", "RUNNING worst", "fresh output best",
               "fresh output worst", "goal < 2 s");
    for (auto& r : rec_rows)
      fmt::print("  {:>9} {:>14.3f} {:>14.3f} {:>18.3f} {:>18.3f}  {}\n", r.keys, best(r.running_s), worst(r.running_s),
                 best(r.output_s), worst(r.output_s), worst(r.output_s) < 2.0 ? "met" : "NOT met");
    int64_t dups = 0;
    for (auto& r : rec_rows) dups += r.duplicates;
    fmt::print("  exactly-once check: {} fresh keys counted more than once\n", dups);
  }
  broker.reset();
  if (!keep) std::filesystem::remove_all(root);
  else fmt::print("kept {}\n", root);
  return 0;
}
