// pageview_counts: counts views per page, exactly once. Input: key = user id, value = page.
// Output: key = page, value = its count as a decimal string.
//
//   pageview_counts [--bootstrap HOST:PORT] [--input TOPIC] [--output TOPIC] [--application-id ID]
//                   [--state-dir DIR] [--threads N] [--guarantee exactly_once_v2|at_least_once]
//
// Without --bootstrap: starts an embedded broker, generates demo traffic, prints the top pages.
// With --bootstrap: runs until SIGTERM/SIGINT, then commits and closes cleanly.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <random>

#include "eddy/broker/embedded_broker.h"
#include "eddy/streams/streams.h"
#include "samples/common.h"

using namespace eddy::streams;

static const char* kUsage =
    "usage: pageview_counts [--bootstrap HOST:PORT] [--input TOPIC] [--output TOPIC] [--application-id ID]\n"
    "                       [--state-dir DIR] [--threads N] [--guarantee exactly_once_v2|at_least_once]";

int main(int argc, char** argv) {
  auto f = samples::parse_flags(argc, argv,
                                {"bootstrap", "input", "output", "application-id", "state-dir", "threads", "guarantee"}, kUsage);
  std::string input = f.count("input") ? f["input"] : "page-views";
  std::string output = f.count("output") ? f["output"] : "page-view-counts";
  std::string guarantee = f.count("guarantee") ? f["guarantee"] : "exactly_once_v2";
  if (guarantee != "exactly_once_v2" && guarantee != "at_least_once") {
    std::cerr << "error: --guarantee must be exactly_once_v2 or at_least_once, not \"" << guarantee << "\"\n" << kUsage << "\n";
    return 2;
  }
  std::string threads = f.count("threads") ? f["threads"] : "1";
  if (threads.empty() || !std::all_of(threads.begin(), threads.end(), ::isdigit) || std::stoi(threads) < 1) {
    std::cerr << "error: --threads must be a positive integer, not \"" << threads << "\"\n" << kUsage << "\n";
    return 2;
  }
  bool demo = !f.count("bootstrap");
  std::unique_ptr<eddy::broker::embedded_broker> broker;
  std::string bootstrap = demo ? "" : f["bootstrap"];
  if (demo) {
    broker = std::make_unique<eddy::broker::embedded_broker>();
    bootstrap = broker->bootstrap_servers();
  }
  std::string state_dir = f.count("state-dir") ? f["state-dir"]
                                               : (std::filesystem::temp_directory_path() / "eddy-pageview-counts").string();

  // The whole application: group views by page, count, write the counts as text.
  stream_builder b;
  b.stream<std::string, std::string>(input)
      .group_by([](const std::string&, const std::string& page) { return page; })
      .count(materialized<std::string, int64_t>::as("page-view-counts-store"))
      .to_stream()
      .map_values([](int64_t n) { return std::to_string(n); })
      .to(output);

  streams_config cfg{{"application.id", f.count("application-id") ? f["application-id"] : "pageview-counts"},
                     {"bootstrap.servers", bootstrap},
                     {"processing.guarantee", guarantee},
                     {"num.stream.threads", threads},
                     {"state.dir", state_dir}};

  std::map<std::string, int64_t> truth;
  if (demo) {
    cfg.set("eddy.log", "false");
    if (!samples::create_topics(bootstrap, {{input, 3}, {output, 3}})) return 1;
    std::mt19937 rng(42);
    std::vector<std::string> pages = {"/home", "/cart", "/checkout", "/search", "/product/1", "/product/2", "/help"};
    std::vector<std::pair<std::string, std::string>> views;
    for (int i = 0; i < 5000; ++i) {
      // Skewed popularity so the top list is interesting.
      auto& page = pages[std::min<size_t>(pages.size() - 1, static_cast<size_t>(std::abs(std::normal_distribution<>(0, 2)(rng))))];
      views.emplace_back("user-" + std::to_string(rng() % 100), page);
      ++truth[page];
    }
    samples::produce(bootstrap, input, views);
  }

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);  // the app's threads inherit the mask

  streams_app app(b.build(), cfg);
  if (auto st = app.start(); !st.ok) {
    std::cerr << "error: " << st.message << "\n";
    return 1;
  }
  if (!demo) {
    std::cerr << "pageview_counts: counting " << input << " -> " << output << " (" << guarantee << "); Ctrl-C to stop\n";
    int sig = 0;
    sigwait(&sigs, &sig);
    std::cerr << "pageview_counts: signal " << sig << ", closing\n";
    app.close();
    return 0;
  }
  auto out = samples::read_topic(bootstrap, output, std::chrono::seconds(60), [&](auto& kvs) {
    std::map<std::string, int64_t> seen;
    for (auto& [k, v] : kvs) seen[k] = std::stoll(v);
    return seen == truth;
  });
  app.close();
  std::map<std::string, int64_t> counts;
  for (auto& [k, v] : out) counts[k] = std::stoll(v);
  std::vector<std::pair<int64_t, std::string>> top;
  for (auto& [p, n] : counts) top.emplace_back(n, p);
  std::sort(top.rbegin(), top.rend());
  std::cout << "top pages (" << out.size() << " count updates read, exactly once):\n";
  for (size_t i = 0; i < top.size() && i < 5; ++i) std::cout << "  " << top[i].second << " " << top[i].first << "\n";
  std::filesystem::remove_all(state_dir);
  return counts == truth ? 0 : 1;
}
