// windowed_pageviews: page views per page per minute, one final result per window
// (emit-final: suppress until the window closes, i.e. stream time >= window end + grace).
//
//   windowed_pageviews [--bootstrap HOST:PORT]
//
// Output lines: "<page> [<window start>, <window end>) <count>".
#include <filesystem>
#include <iostream>

#include "eddy/broker/embedded_broker.h"
#include "eddy/streams/streams.h"
#include "samples/common.h"

using namespace eddy::streams;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  auto f = samples::parse_flags(argc, argv, {"bootstrap"}, "usage: windowed_pageviews [--bootstrap HOST:PORT]");
  std::unique_ptr<eddy::broker::embedded_broker> broker;
  std::string bootstrap = f.count("bootstrap") ? f["bootstrap"] : "";
  if (bootstrap.empty()) {
    broker = std::make_unique<eddy::broker::embedded_broker>();
    bootstrap = broker->bootstrap_servers();
  }
  auto windows = time_windows::of_size_with_grace(1min, 10s);
  stream_builder b;
  b.stream<std::string, std::string>("windowed-page-views")
      .group_by([](const std::string&, const std::string& page) { return page; })
      .windowed_by(windows)
      .count(materialized<std::string, int64_t>::as("views-per-minute"))
      .suppress_until_window_closes()
      .to_stream()
      .map_values([](int64_t n) { return std::to_string(n); })
      .to("views-per-minute", produced<windowed<std::string>, std::string>::with(
                                  time_windowed_serde(serdes::string(), windows.size_ms), serdes::string()));

  if (!samples::create_topics(bootstrap, {{"windowed-page-views", 1}, {"views-per-minute", 1}})) return 1;
  // Three minutes of traffic, one view every 5 s alternating pages, then a late-arriving
  // record far ahead to close the last window.
  std::vector<std::pair<std::string, std::string>> views;
  for (int i = 0; i < 36; ++i) views.emplace_back("u" + std::to_string(i % 4), i % 3 ? "/home" : "/cart");
  // Event times start 15 minutes ago, on a minute boundary (a broker deletes records
  // older than its retention, 7 days by default, so event times must be recent).
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  int64_t base = now_ms / 60000 * 60000 - 15 * 60000;
  samples::produce(bootstrap, "windowed-page-views", views, base, 5000);
  samples::produce(bootstrap, "windowed-page-views", {{"u0", "/home"}}, base + 10 * 60000);

  auto dir = std::filesystem::temp_directory_path() / "eddy-windowed-pageviews";
  streams_config cfg{{"application.id", "windowed-pageviews"}, {"bootstrap.servers", bootstrap},
                     {"processing.guarantee", "exactly_once_v2"}, {"state.dir", dir.string()}, {"eddy.log", "false"}};
  streams_app app(b.build(), cfg);
  if (auto st = app.start(); !st.ok) {
    std::cerr << "error: " << st.message << "\n";
    return 1;
  }
  auto out = samples::read_topic(bootstrap, "views-per-minute", 60s, [](auto& kvs) { return kvs.size() >= 6; });
  app.close();
  auto ks = time_windowed_serde(serdes::string(), windows.size_ms);
  for (auto& [k, v] : out) {
    auto w = ks.deserialize(k);
    std::cout << w.key << " minute " << (w.win.start - base) / 60000 << " (window [" << w.win.start << ", " << w.win.end
              << ")): " << v << " views\n";
  }
  std::filesystem::remove_all(dir);
  return out.size() >= 6 ? 0 : 1;
}
