// pageview_app: the page-view count application of samples/pageview_counts, as a process the
// fault tests (streams_fault_test.py) can start, kill -9 and restart. Input: key = user,
// value = page; output: key = page, value = its count as a decimal string.
//
//   pageview_app --bootstrap HOST:PORT --state-dir DIR [--application-id ID] [--input TOPIC]
//                [--output TOPIC] [--set key=value]...
//
// Runs exactly_once_v2 until SIGTERM/SIGINT (then closes cleanly, exit 0). Prints
// "pageview_app: running" once started, and "pageview_app: error: ..." (exit 1) if the app
// fails. --set passes any streams or librdkafka setting (session.timeout.ms, ...).
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

#include "eddy/streams/streams.h"

using namespace eddy::streams;

static const char* kUsage =
    "usage: pageview_app --bootstrap HOST:PORT --state-dir DIR [--application-id ID] [--input TOPIC]\n"
    "                    [--output TOPIC] [--set key=value]...";

int main(int argc, char** argv) {
  std::string bootstrap, state_dir, app_id = "pageview-fault", input = "page-views", output = "page-view-counts";
  streams_config cfg;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) {
      std::cerr << "error: " << a << " needs a value\n" << kUsage << "\n";
      return 2;
    }
    std::string v = argv[++i];
    if (a == "--bootstrap") bootstrap = v;
    else if (a == "--state-dir") state_dir = v;
    else if (a == "--application-id") app_id = v;
    else if (a == "--input") input = v;
    else if (a == "--output") output = v;
    else if (a == "--set") {
      auto eq = v.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::cerr << "error: --set needs key=value, not \"" << v << "\"\n" << kUsage << "\n";
        return 2;
      }
      cfg.set(v.substr(0, eq), v.substr(eq + 1));
    } else {
      std::cerr << "error: unknown flag " << a << "\n" << kUsage << "\n";
      return 2;
    }
  }
  if (bootstrap.empty() || state_dir.empty()) {
    std::cerr << "error: --bootstrap and --state-dir are required\n" << kUsage << "\n";
    return 2;
  }
  cfg.set("application.id", app_id);
  cfg.set("bootstrap.servers", bootstrap);
  cfg.set("processing.guarantee", "exactly_once_v2");
  cfg.set("state.dir", state_dir);

  stream_builder b;
  b.stream<std::string, std::string>(input)
      .group_by([](const std::string&, const std::string& page) { return page; })
      .count(materialized<std::string, int64_t>::as("pageview-fault-store"))
      .to_stream()
      .map_values([](int64_t n) { return std::to_string(n); })
      .to(output);

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);  // the app's threads inherit the mask

  streams_app app(b.build(), cfg);
  std::atomic<bool> failed{false};
  app.set_state_listener([&](app_state, app_state to) {
    if (to == app_state::error) failed = true;
  });
  if (auto st = app.start(); !st.ok) {
    std::cout << "pageview_app: error: " << st.message << std::endl;
    return 1;
  }
  std::cout << "pageview_app: running" << std::endl;
  // Wait for a signal, checking now and then whether the app failed.
  timespec tick{0, 200 * 1000 * 1000};
  for (;;) {
    int sig = sigtimedwait(&sigs, nullptr, &tick);
    if (sig > 0) break;
    if (failed || app.state() == app_state::error) {
      std::cout << "pageview_app: error: the app failed (see the log above)" << std::endl;
      app.close();
      return 1;
    }
  }
  app.close();
  std::cout << "pageview_app: closed" << std::endl;
  return 0;
}
