// eddy-broker: Eddy's Kafka-compatible broker.
//   eddy-broker --listen HOST:PORT --data-dir DIR [--config FILE] [--advertised HOST:PORT] [--set key=value ...]
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <sys/resource.h>

#include "broker/broker.h"

namespace {

eddy::broker::broker* running = nullptr;

void on_signal(int) {
  if (running != nullptr) running->stop();
}

void usage(std::FILE* out) {
  fmt::print(out,
             "usage: eddy-broker --listen HOST:PORT --data-dir DIR [--config FILE] [--advertised HOST:PORT]\n"
             "                   [--set key=value ...]\n"
             "\n"
             "Runs Eddy's Kafka-compatible broker. Any Kafka client can use HOST:PORT as bootstrap.servers.\n"
             "\n"
             "  --listen HOST:PORT      address to listen on (default 127.0.0.1:9092; port 0 = any free port,\n"
             "                          printed at start)\n"
             "  --data-dir DIR          where logs and metadata are kept (created if missing; required)\n"
             "  --config FILE           Java-properties file with Kafka setting names (num.partitions,\n"
             "                          auto.create.topics.enable, log.segment.bytes, log.retention.ms,\n"
             "                          log.retention.bytes, message.max.bytes, socket.request.max.bytes,\n"
             "                          log.flush.strict, log.flush.interval.ms, ...)\n"
             "  --advertised HOST:PORT  address clients are told to connect to (default: the listen address)\n"
             "  --set key=value         one setting, overriding the config file\n"
             "  --help                  this text\n"
             "\n"
             "SIGTERM or SIGINT shuts the broker down cleanly (exit status 0); when a partition could not be\n"
             "closed cleanly (offline after a failed write) it exits with 1, and the next start recovers it.\n");
}

// Every segment keeps four files open (log and three indexes), so a broker with a few
// hundred partitions passes the common soft limit of 1024 descriptors. Like servers that
// expect many files, raise the soft limit to the hard one; past it, creating a partition
// fails with KAFKA_STORAGE_ERROR ("Too many open files") and the broker stays up.
void raise_open_files_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  rlimit want = lim;
  want.rlim_cur = lim.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &want) != 0)
    fmt::print(stderr, "eddy-broker: could not raise the open-files limit from {} to {}; with many partitions, "
                       "raise it (ulimit -n)\n", lim.rlim_cur, lim.rlim_max);
}

}  // namespace

int main(int argc, char** argv) {
  eddy::broker::broker_config cfg;
  std::vector<std::pair<std::string, std::string>> overrides;
  std::string config_file;
  auto fail = [](const std::string& msg) {
    fmt::print(stderr, "eddy-broker: {}\nRun 'eddy-broker --help' for usage.\n", msg);
    return 2;
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      (void)flag;
      return std::string(argv[++i]);
    };
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--listen" || a == "--data-dir" || a == "--config" || a == "--advertised" || a == "--set") {
      auto v = value(a.c_str());
      if (!v) return fail(a + " needs a value");
      if (a == "--listen") overrides.emplace_back("listen", *v);
      else if (a == "--data-dir") overrides.emplace_back("data.dir", *v);
      else if (a == "--advertised") overrides.emplace_back("advertised", *v);
      else if (a == "--config") config_file = *v;
      else {
        auto eq = v->find('=');
        if (eq == std::string::npos || eq == 0) return fail("--set needs key=value, got '" + *v + "'");
        overrides.emplace_back(v->substr(0, eq), v->substr(eq + 1));
      }
    } else {
      return fail("unknown argument '" + a + "'");
    }
  }
  if (!config_file.empty()) {
    if (auto err = cfg.load_file(config_file)) return fail(*err);
  }
  for (auto& [k, v] : overrides) {
    if (auto err = cfg.set(k, v)) return fail(*err);
  }
  if (cfg.data_dir.empty()) return fail("no data directory: pass --data-dir DIR");

  raise_open_files_limit();
  eddy::broker::broker b(cfg);
  if (auto err = b.start()) {
    fmt::print(stderr, "eddy-broker: {}\n", *err);
    return 1;
  }
  running = &b;
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  // Under a file size limit (ulimit -f) a write past it fails with EFBIG, which takes that
  // partition offline, instead of SIGXFSZ killing the broker (the JVM ignores it too).
  std::signal(SIGXFSZ, SIG_IGN);
  fmt::print("eddy-broker listening on {}:{} (advertised {}:{}), data in {}\n", cfg.listen_host, b.bound_port(),
             b.advertised_host(), b.advertised_port(), cfg.data_dir);
  std::fflush(stdout);
  b.run();
  running = nullptr;
  if (!b.closed_cleanly()) {
    // A supervisor should know: the data is safe, but the next start has to recover it.
    fmt::print(stderr, "eddy-broker stopped without a clean shutdown (see above); the next start recovers the "
                       "logs from disk\n");
    return 1;
  }
  fmt::print("eddy-broker stopped\n");
  return 0;
}
