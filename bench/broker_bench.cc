// broker_bench: librdkafka against an embedded Eddy broker and, in the same run, against
// librdkafka's in-process mock cluster (a reference point for client-side overhead: the
// mock keeps messages in memory and does no disk I/O).
//
// Prints, per target: produce throughput (msgs/s, MB/s of values) for 100-byte and 1 KB
// values with acks=1 and acks=all, consume throughput (assign, no group) of the 100-byte
// topic, tail throughput (1 KB values consumed while they are produced), and produce
// latency p50/p99/max at a fixed rate with acks=all.
//
//   broker_bench [--small N] [--large N] [--rate MSGS_PER_S] [--latency-seconds S]
//                [--target eddy|mock|both] [--repeat N] [--warm-up N] [--data-dir DIR]
//                [--set key=value ...] [--steps produce,consume,tail,latency]
//
// --steps picks what runs (default all four; consume reads what produce wrote, so it
// needs produce; tail reads a topic while it is written). Each target's run is a child
// process of its own (see isolated()), so both start from the same clean state.
// --repeat N runs the targets N times,
// Eddy first in odd rounds and the mock first in even ones, and ends with the best and the
// median figure of each, and the median of the per-round eddy/mock ratios (figures swing
// with whatever else the machine runs; alternating keeps that fair). Before its timed steps
// each target gets --warm-up N untimed 1 KB records (default 1000000, 0 = none): the first
// producer run after a target starts is up to 10% slower whichever target it is, and Eddy's
// first few hundred megabytes cost its broker more CPU (its tail cache and block pool
// fault in fresh memory: about 0.4-0.55 s/GB during a 200,000-record warm-up against
// 0.26-0.33 after a million).
//
// Each produce, consume and tail line also gives the CPU time spent per GB of values, split
// into the broker's threads (Eddy's eddy-loop/eddy-writer/eddy-flusher/eddy-cleaner, the
// mock's rdk:mock) and the rest of the process (the librdkafka clients and the threads
// producing and polling; for tail, producer and consumer together). On a 2-core
// machine both cores are busy during produce, so throughput follows the sum of the two; the
// broker's share is the part a broker can change, and it is far steadier than throughput.
//
// Defaults (about a minute on a loaded 2-core machine): --small 300000 --large 60000
// --rate 5000 --latency-seconds 5. --data-dir defaults to a fresh temporary directory.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eddy/broker/embedded_broker.h"

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  long small = 300000;
  long large = 60000;
  int rate = 5000;
  double latency_seconds = 5;
  int repeat = 1;
  long warm_up = 1000000;  // 1 KB records produced untimed before the steps of each target
  std::string target = "both";
  std::string data_dir;
  bool do_produce = true, do_consume = true, do_tail = true, do_latency = true;
  std::map<std::string, std::string> broker_settings;
};

[[noreturn]] void die(const std::string& msg) {
  fmt::print(stderr, "broker_bench: {}\n", msg);
  std::exit(1);
}

rd_kafka_t* make(rd_kafka_type_t type, const std::string& bootstrap, const std::map<std::string, std::string>& extra,
                 void (*dr)(rd_kafka_t*, const rd_kafka_message_t*, void*) = nullptr, void* opaque = nullptr) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::map<std::string, std::string> all = {{"bootstrap.servers", bootstrap}, {"log_level", "3"}};
  for (auto& [k, v] : extra) all[k] = v;
  for (auto& [k, v] : all)
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) die(k + ": " + err);
  if (dr) rd_kafka_conf_set_dr_msg_cb(conf, dr);
  if (opaque) rd_kafka_conf_set_opaque(conf, opaque);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) die(std::string("rd_kafka_new: ") + err);
  return rk;
}

struct throughput_state {
  std::atomic<long> delivered{0};
  std::atomic<long> failed{0};
  rd_kafka_resp_err_t first_error = RD_KAFKA_RESP_ERR_NO_ERROR;
};

void on_throughput_dr(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* s = static_cast<throughput_state*>(opaque);
  if (m->err) {
    if (s->failed++ == 0) s->first_error = m->err;
  } else {
    s->delivered++;
  }
}

struct result {
  double seconds = 0;
  long count = 0;
  double bytes = 0;
  std::string note;
  double broker_cpu_per_gb = -1, client_cpu_per_gb = -1;  // produce, consume and tail
  std::string line() const {
    std::string cpu = broker_cpu_per_gb < 0 ? ""
                                            : fmt::format("  cpu/GB: broker {:.3f} s, client {:.3f} s", broker_cpu_per_gb,
                                                          client_cpu_per_gb);
    return fmt::format("{:>10.0f} msgs/s {:>8.1f} MB/s  ({} msgs in {:.2f} s){}{}", count / seconds,
                       bytes / seconds / 1e6, count, seconds, cpu, note);
  }
};

// CPU time (ns) of this process's threads whose name marks them as the broker's.
double broker_threads_cpu_ns() {
  double total = 0;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::string comm;
    std::getline(std::ifstream(task.path() / "comm"), comm);
    if (comm.rfind("eddy-", 0) != 0 && comm.rfind("rdk:mock", 0) != 0) continue;
    double on_cpu_ns = 0;  // schedstat: time on CPU (ns), wait time, timeslices
    std::ifstream(task.path() / "schedstat") >> on_cpu_ns;
    total += on_cpu_ns;
  }
  return total;
}

// CPU time (ns) of the whole process, exited threads included.
double process_cpu_ns() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto ns = [](const timeval& t) { return double(t.tv_sec) * 1e9 + double(t.tv_usec) * 1e3; };
  return ns(u.ru_utime) + ns(u.ru_stime);
}

struct cpu_meter {
  double broker0 = broker_threads_cpu_ns(), process0 = process_cpu_ns();
  // Seconds per GB of `bytes`, for the broker's threads and for everything else.
  std::pair<double, double> per_gb(double bytes) const {
    double b = broker_threads_cpu_ns() - broker0, all = process_cpu_ns() - process0;
    return {b / bytes, (all - b) / bytes};  // ns per byte = s per GB
  }
};

// The producer of the throughput steps: batches lingering up to 5 ms, no idempotence, a
// deep queue, no compression.
rd_kafka_t* throughput_producer(const std::string& bootstrap, const char* acks, throughput_state& st) {
  return make(RD_KAFKA_PRODUCER, bootstrap,
              {{"acks", acks}, {"linger.ms", "5"}, {"enable.idempotence", "false"},
               {"queue.buffering.max.messages", "200000"}, {"queue.buffering.max.kbytes", "262144"},
               {"compression.codec", "none"}},
              on_throughput_dr, &st);
}

// Queues one copy of `value` for partition 0 of `topic`, polling while the queue is full.
void send_one(rd_kafka_t* p, const std::string& topic, const std::string& value) {
  for (;;) {
    rd_kafka_resp_err_t e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                                              RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      if (e) die(std::string("produce: ") + rd_kafka_err2str(e));
      return;
    }
    rd_kafka_poll(p, 1);
  }
}

result produce(const std::string& bootstrap, const std::string& topic, long n, std::size_t size, const char* acks) {
  throughput_state st;
  rd_kafka_t* p = throughput_producer(bootstrap, acks, st);
  std::string value(size, 'x');
  for (std::size_t i = 0; i < size; ++i) value[i] = char('a' + i % 26);
  send_one(p, topic, value);  // warm up: metadata, connection
  rd_kafka_flush(p, 10000);
  st.delivered = 0;
  cpu_meter cpu;
  auto t0 = clock_type::now();
  for (long i = 0; i < n; ++i) {
    send_one(p, topic, value);
    if (((i + 1) & 1023) == 0) rd_kafka_poll(p, 0);
  }
  if (rd_kafka_flush(p, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR) die("flush timed out");
  double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  auto [broker_cpu, client_cpu] = cpu.per_gb(double(n) * double(size));
  rd_kafka_destroy(p);
  if (st.failed) die(fmt::format("{} deliveries failed, first: {}", st.failed.load(), rd_kafka_err2str(st.first_error)));
  if (st.delivered != n) die(fmt::format("delivered {} of {}", st.delivered.load(), n));
  return {secs, n, double(n) * double(size), {}, broker_cpu, client_cpu};
}

// The consumers' local queues are made large (queued.min.messages, queued.max.messages.kbytes):
// with the defaults, a consumer whose broker answers faster than the application takes the
// records fills its 100,000-message queue, and librdkafka 2.0.2's fetcher looks at the
// queue again only about once a second, idle meanwhile ("not fetchable: queued.min.messages
// exceeded"): the figure then measures that timer, not the broker.
//
// A consume step against Eddy fell short: the run ends with exit status 1. (The mock's
// consumer is known to be slow, a few thousand records per second, so a shortfall there
// is only reported.)
bool incomplete = false;

result consume(const std::string& bootstrap, const std::string& topic, long n) {
  rd_kafka_t* c = make(RD_KAFKA_CONSUMER, bootstrap,
                       {{"group.id", "broker-bench"},  // assign() needs one; nothing is committed
                        {"enable.auto.commit", "false"}, {"fetch.wait.max.ms", "100"}, {"enable.partition.eof", "false"},
                        {"queued.min.messages", "10000000"}, {"queued.max.messages.kbytes", "2097151"}});
  rd_kafka_poll_set_consumer(c);
  auto* parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  cpu_meter cpu;
  auto t0 = clock_type::now();
  if (auto e = rd_kafka_assign(c, parts)) die(std::string("assign: ") + rd_kafka_err2str(e));
  rd_kafka_topic_partition_list_destroy(parts);
  long got = 0;
  double bytes = 0;
  auto deadline = t0 + std::chrono::seconds(20);  // bounded; a shortfall is printed, not hidden
  while (got < n && clock_type::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
    if (!m) continue;
    if (!m->err) {
      ++got;
      bytes += double(m->len);
    }
    rd_kafka_message_destroy(m);
  }
  double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  auto [broker_cpu, client_cpu] = cpu.per_gb(bytes);
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  result r{secs, got, bytes, {}, broker_cpu, client_cpu};
  r.note = got < n ? fmt::format("  INCOMPLETE: {} of {} records within 20 s", got, n) : "";
  return r;
}

// Tail: a consumer reads a topic while a producer writes it (1 KB values, acks=1), as a
// stream processor reads its input: the consumer is assigned from the beginning and polls
// throughout. The figure is records consumed per second from the first produce call to the
// last record read; the producer's own rate is given too. Against Eddy these reads come
// from the partition's newest data, which a broker should serve from memory.
result tail(const std::string& bootstrap, const std::string& topic, long n, double& produce_rate) {
  throughput_state st;
  rd_kafka_t* p = throughput_producer(bootstrap, "1", st);
  std::string value(1024, 't');
  send_one(p, topic, value);  // the topic exists before the consumer is assigned
  rd_kafka_flush(p, 10000);
  rd_kafka_t* c = make(RD_KAFKA_CONSUMER, bootstrap,
                       {{"group.id", "broker-bench-tail"}, {"enable.auto.commit", "false"}, {"fetch.wait.max.ms", "100"},
                        {"enable.partition.eof", "false"}, {"queued.min.messages", "10000000"},
                        {"queued.max.messages.kbytes", "2097151"}});
  rd_kafka_poll_set_consumer(c);
  auto* parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  if (auto e = rd_kafka_assign(c, parts)) die(std::string("assign: ") + rd_kafka_err2str(e));
  rd_kafka_topic_partition_list_destroy(parts);
  // Wait for the warm-up record, so the consumer is fetching before the run starts.
  long got = 0;
  double bytes = 0;
  auto deadline = clock_type::now() + std::chrono::seconds(10);
  while (got == 0 && clock_type::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
    if (!m) continue;
    if (!m->err) ++got;
    rd_kafka_message_destroy(m);
  }
  if (got == 0) die("tail: the consumer did not get the first record within 10 s");
  got = 0;
  cpu_meter cpu;  // producer, consumer and broker: per GB consumed
  auto t0 = clock_type::now();
  auto last = t0;
  std::thread reader([&] {
    auto until = t0 + std::chrono::seconds(20);  // bounded, like consume
    while (got < n && clock_type::now() < until) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
      if (!m) continue;
      if (!m->err) {
        ++got;
        bytes += double(m->len);
        last = clock_type::now();
      }
      rd_kafka_message_destroy(m);
    }
  });
  for (long i = 0; i < n; ++i) {
    send_one(p, topic, value);
    if ((i & 1023) == 0) rd_kafka_poll(p, 0);
  }
  if (rd_kafka_flush(p, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR) die("flush timed out");
  produce_rate = double(n) / std::chrono::duration<double>(clock_type::now() - t0).count();
  reader.join();
  auto [broker_cpu, client_cpu] = cpu.per_gb(bytes);
  rd_kafka_destroy(p);
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  // (Nothing read: the rate is 0 over the whole wait, not 0/0.)
  result r{got > 0 ? std::chrono::duration<double>(last - t0).count() : 20.0, got, bytes, {}, broker_cpu, client_cpu};
  r.note = fmt::format("  (producer {:.0f} msgs/s)", produce_rate);
  if (got < n) r.note += fmt::format("  INCOMPLETE: {} of {} records within 20 s", got, n);
  return r;
}

struct latency_state {
  std::vector<clock_type::time_point> sent;
  std::vector<double> latency_us;
  std::atomic<long> failed{0};
};

void on_latency_dr(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* s = static_cast<latency_state*>(opaque);
  auto now = clock_type::now();
  if (m->err) {
    s->failed++;
    return;
  }
  auto i = reinterpret_cast<std::uintptr_t>(m->_private);
  s->latency_us[i] = std::chrono::duration<double, std::micro>(now - s->sent[i]).count();
}

std::string latency(const std::string& bootstrap, const std::string& topic, int rate, double seconds, double& p99_ms) {
  latency_state st;
  long n = long(rate * seconds);
  st.sent.resize(std::size_t(n));
  st.latency_us.assign(std::size_t(n), -1);
  rd_kafka_t* p = make(RD_KAFKA_PRODUCER, bootstrap, {{"acks", "all"}, {"linger.ms", "0"}, {"enable.idempotence", "false"}},
                       on_latency_dr, &st);
  std::string value(100, 'l');
  rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_VALUE(value.data(), value.size()),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE((void*)0), RD_KAFKA_V_END);
  rd_kafka_flush(p, 10000);  // warm up (its latency slot is overwritten below)
  std::atomic<bool> stop{false};
  std::thread poller([&] {
    while (!stop) rd_kafka_poll(p, 5);
  });
  auto t0 = clock_type::now();
  auto interval = std::chrono::duration<double>(1.0 / rate);
  for (long i = 0; i < n; ++i) {
    auto due = t0 + std::chrono::duration_cast<clock_type::duration>(interval * double(i));
    while (clock_type::now() < due) std::this_thread::sleep_for(std::chrono::microseconds(50));
    st.sent[std::size_t(i)] = clock_type::now();
    rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                      RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                      RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(std::uintptr_t(i))), RD_KAFKA_V_END);
  }
  double send_secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  rd_kafka_flush(p, 30000);
  stop = true;
  poller.join();
  rd_kafka_destroy(p);
  std::vector<double> l;
  for (double x : st.latency_us)
    if (x >= 0) l.push_back(x);
  if (l.empty()) die("no latency samples");
  std::sort(l.begin(), l.end());
  auto pct = [&](double q) { return l[std::min(l.size() - 1, std::size_t(q * double(l.size())))] / 1000.0; };
  p99_ms = pct(0.99);
  return fmt::format("p50 {:.2f} ms  p99 {:.2f} ms  max {:.2f} ms  ({} msgs at {:.0f}/s achieved, {} failed)", pct(0.50),
                     pct(0.99), l.back() / 1000.0, l.size(), double(n) / send_secs, st.failed.load());
}

// Every figure per (target, metric) over --repeat runs: msgs/s for throughput (higher is
// better), p99 ms and CPU s/GB (lower is better).
struct metric_samples {
  bool higher_is_better = true;
  std::vector<double> values;  // one per round
};
std::map<std::string, std::map<std::string, metric_samples>> samples;

void note(const std::string& target, const std::string& metric, double v, bool higher_is_better = true) {
  auto& m = samples[target][metric];
  m.higher_is_better = higher_is_better;
  m.values.push_back(v);
}

// Runs one target's suite in a child process, so that neither target runs in memory the
// other left behind: the C library's allocator hands a later run heap memory that an
// earlier one faulted in and freed, and the mock (which copies every message into freshly
// allocated memory) measured 0.15-0.16 CPU s/GB in some runs after an Eddy run in the
// same process, against 0.25-0.29 in a process of its own. The child's figures come back through a pipe
// (one "target, metric, higher_is_better, value" line each); its output goes to stdout as
// it runs.
void isolated(const std::function<void()>& run) {
  std::fflush(stdout);
  std::fflush(stderr);
  int fds[2];
  if (::pipe(fds) != 0) die(std::string("pipe: ") + std::strerror(errno));
  pid_t pid = ::fork();
  if (pid < 0) die(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::close(fds[0]);
    samples.clear();
    incomplete = false;
    run();
    std::string out;
    for (auto& [target, metrics] : samples)
      for (auto& [metric, m] : metrics)
        for (double v : m.values) out += fmt::format("{}\t{}\t{}\t{:.17g}\n", target, metric, int(m.higher_is_better), v);
    if (incomplete) out += "incomplete\n";
    for (std::size_t done = 0; done < out.size();) {
      ssize_t n = ::write(fds[1], out.data() + done, out.size() - done);
      if (n <= 0) _exit(1);
      done += std::size_t(n);
    }
    std::fflush(stdout);
    _exit(0);
  }
  ::close(fds[1]);
  std::string in;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) in.append(buf, std::size_t(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("a target's run failed (see above)");
  std::size_t at = 0;
  while (at < in.size()) {
    std::size_t end = in.find('\n', at);
    std::string line = in.substr(at, end - at);
    at = end + 1;
    if (line == "incomplete") {
      incomplete = true;
      continue;
    }
    std::size_t a = line.find('\t'), b = line.find('\t', a + 1), c = line.find('\t', b + 1);
    note(line.substr(0, a), line.substr(a + 1, b - a - 1), std::stod(line.substr(c + 1)), line.substr(b + 1, c - b - 1) == "1");
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

void run_suite(const std::string& target, const std::string& name, const std::string& bootstrap, const options& o,
               const std::function<void(const std::string&)>& prepare_topic) {
  fmt::print("== {} ({})\n", name, bootstrap);
  std::fflush(stdout);
  struct step {
    const char* label;
    const char* topic;
    long n;
    std::size_t size;
    const char* acks;
  };
  const step steps[] = {
      {"produce 100 B acks=1  ", "b-small-1", o.small, 100, "1"},
      {"produce 100 B acks=all", "b-small-all", o.small, 100, "all"},
      {"produce 1 KB  acks=1  ", "b-large-1", o.large, 1024, "1"},
      {"produce 1 KB  acks=all", "b-large-all", o.large, 1024, "all"},
  };
  if (o.warm_up > 0 && (o.do_produce || o.do_tail)) {
    // Untimed. The first producer run after a target starts is up to 10% slower, whichever
    // target it is (the client grows its message heap; measured with the same target twice
    // per round), so each target gets the same warm-up before its timed steps.
    prepare_topic("b-warm-up");
    auto r = produce(bootstrap, "b-warm-up", o.warm_up, 1024, "1");
    fmt::print("  warm-up (1 KB, acks=1, not counted) {}\n", r.line());
  }
  for (auto& s : steps) {
    if (!o.do_produce) break;
    prepare_topic(s.topic);
    auto r = produce(bootstrap, s.topic, s.n, s.size, s.acks);
    fmt::print("  {}  {}\n", s.label, r.line());
    note(target, s.label, r.count / r.seconds);
    note(target, std::string(s.label).substr(8) + " cpu", r.broker_cpu_per_gb, false);
    std::fflush(stdout);
  }
  if (o.do_consume) {
    // The warm-up record makes each topic one longer than n.
    auto c1 = consume(bootstrap, "b-small-1", o.small + 1);
    auto c2 = consume(bootstrap, "b-large-1", o.large + 1);
    if (target == "eddy" && (c1.count < o.small + 1 || c2.count < o.large + 1)) incomplete = true;
    fmt::print("  consume 100 B          {}\n", c1.line());
    note(target, "consume 100 B         ", c1.count / c1.seconds);
    fmt::print("  consume 1 KB           {}\n", c2.line());
    note(target, "consume 1 KB          ", c2.count / c2.seconds);
    std::fflush(stdout);
  }
  if (o.do_tail) {
    prepare_topic("b-tail");
    double produce_rate = 0;
    auto r = tail(bootstrap, "b-tail", o.large, produce_rate);
    if (target == "eddy" && r.count < o.large) incomplete = true;
    fmt::print("  tail 1 KB (read while written) {}\n", r.line());
    note(target, "tail 1 KB consume     ", r.count / r.seconds);
    std::fflush(stdout);
  }
  if (!o.do_latency) return;
  prepare_topic("b-latency");
  double p99 = 0;
  fmt::print("  latency 100 B acks=all at {}/s: {}\n", o.rate, latency(bootstrap, "b-latency", o.rate, o.latency_seconds, p99));
  note(target, "latency p99 ms (lower)", p99, false);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--small") o.small = std::stol(next());
    else if (a == "--large") o.large = std::stol(next());
    else if (a == "--rate") o.rate = std::stoi(next());
    else if (a == "--latency-seconds") o.latency_seconds = std::stod(next());
    else if (a == "--target") o.target = next();
    else if (a == "--repeat") o.repeat = std::max(1, std::stoi(next()));
    else if (a == "--warm-up") o.warm_up = std::max(0L, std::stol(next()));
    else if (a == "--data-dir") o.data_dir = next();
    else if (a == "--steps") {
      std::string list = "," + next() + ",";
      auto has = [&](const char* step) { return list.find(std::string(",") + step + ",") != std::string::npos; };
      o.do_produce = has("produce");
      o.do_consume = has("consume");
      o.do_tail = has("tail");
      o.do_latency = has("latency");
      if (!o.do_produce && !o.do_consume && !o.do_tail && !o.do_latency)
        die("--steps takes produce, consume, tail and/or latency");
      if (o.do_consume && !o.do_produce) die("--steps consume needs produce (it reads what produce wrote)");
    }
    else if (a == "--set") {
      std::string kv = next();
      auto eq = kv.find('=');
      if (eq == std::string::npos) die("--set needs key=value");
      o.broker_settings[kv.substr(0, eq)] = kv.substr(eq + 1);
    } else if (a == "--help" || a == "-h") {
      fmt::print("usage: broker_bench [--small N] [--large N] [--rate MSGS_PER_S] [--latency-seconds S]\n"
                 "                    [--target eddy|mock|both] [--repeat N] [--warm-up N] [--data-dir DIR]\n"
                 "                    [--set key=value ...] [--steps produce,consume,tail,latency]\n");
      return 0;
    } else {
      die("unknown argument '" + a + "' (see --help)");
    }
  }
  if (o.target != "eddy" && o.target != "mock" && o.target != "both") die("--target is eddy, mock or both");
  fmt::print("broker_bench: librdkafka {}, {} x 100 B, {} x 1 KB, latency {} msgs/s for {} s, 1 partition, no compression\n",
             rd_kafka_version_str(), o.small, o.large, o.rate, o.latency_seconds);
  auto t0 = clock_type::now();
  for (int round = 0; round < o.repeat; ++round) {
    if (o.repeat > 1) fmt::print("-- round {} of {}\n", round + 1, o.repeat);
    auto run_eddy = [&] {
      eddy::broker::embedded_broker_options bo;
      bo.data_dir = o.data_dir.empty() ? "" : o.data_dir + "/round-" + std::to_string(round);
      bo.config = o.broker_settings;
      bo.config.emplace("num.partitions", "1");
      eddy::broker::embedded_broker broker(bo);
      run_suite("eddy", "eddy embedded broker, data in " + broker.data_dir(), broker.bootstrap_servers(), o,
                [](const std::string&) {});  // auto-created with 1 partition
      broker.stop();
    };
    auto run_mock = [&] {
      char err[256];
      rd_kafka_conf_t* conf = rd_kafka_conf_new();
      rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
      rd_kafka_t* owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
      if (!owner) die(err);
      rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(owner, 1);
      if (!mc) die("rd_kafka_mock_cluster_new failed");
      run_suite("mock", "librdkafka mock cluster (1 broker, in memory)", rd_kafka_mock_cluster_bootstraps(mc), o,
                [&](const std::string& t) { rd_kafka_mock_topic_create(mc, t.c_str(), 1, 1); });
      rd_kafka_mock_cluster_destroy(mc);
      rd_kafka_destroy(owner);
    };
    bool eddy = o.target != "mock", mock = o.target != "eddy";
    // The order alternates: Eddy first in odd rounds, the mock first in even ones.
    if (round % 2 == 0) {
      if (eddy) isolated(run_eddy);
      if (mock) isolated(run_mock);
    } else {
      if (mock) isolated(run_mock);
      if (eddy) isolated(run_eddy);
    }
  }
  if (o.repeat > 1) {
    // "cpu" rows: the broker threads' CPU seconds per GB of values during that produce step.
    fmt::print("== {} rounds (msgs/s; latency: p99 ms; cpu: broker s/GB), best and median of each, and the median of the\n"
               "   per-round eddy/mock ratios (for 'lower is better' rows the ratio is mock/eddy, so above 1 favours eddy)\n"
               "  {:<24} {:>12} {:>12} {:>12} {:>12} {:>10}\n",
               o.repeat, "metric", "eddy best", "mock best", "eddy median", "mock median", "ratio");
    auto& rows = samples.count("eddy") ? samples["eddy"] : samples["mock"];
    for (auto& [metric, ms] : rows) {
      const auto* e = samples["eddy"].count(metric) ? &samples["eddy"][metric] : nullptr;
      const auto* m = samples["mock"].count(metric) ? &samples["mock"][metric] : nullptr;
      auto best_of = [&](const metric_samples* x) {
        if (!x) return 0.0;
        return ms.higher_is_better ? *std::max_element(x->values.begin(), x->values.end())
                                   : *std::min_element(x->values.begin(), x->values.end());
      };
      std::string ratio = "-";
      if (e && m && e->values.size() == m->values.size()) {
        std::vector<double> r;
        for (std::size_t i = 0; i < e->values.size(); ++i)
          if (e->values[i] > 0 && m->values[i] > 0)
            r.push_back(ms.higher_is_better ? e->values[i] / m->values[i] : m->values[i] / e->values[i]);
        if (!r.empty()) ratio = fmt::format("{:.2f}", median(r));
      }
      fmt::print("  {:<24} {:>12.3f} {:>12.3f} {:>12.3f} {:>12.3f} {:>10}\n", metric, best_of(e), best_of(m),
                 e ? median(e->values) : 0.0, m ? median(m->values) : 0.0, ratio);
    }
  }
  fmt::print("total {:.1f} s\n", std::chrono::duration<double>(clock_type::now() - t0).count());
  if (incomplete) die("a consume step against Eddy did not read every record (see INCOMPLETE above)");
  return 0;
}
