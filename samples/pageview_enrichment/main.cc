// pageview_enrichment: a stream-table join. Page views (key = user id, value = page) are
// enriched with the user's region from a users table (key = user id, value = region).
//
//   pageview_enrichment [--bootstrap HOST:PORT]
//
// Output: key = user id, value = "<page> from <region>" ("unknown region" for unknown users).
#include <filesystem>
#include <iostream>

#include "eddy/broker/embedded_broker.h"
#include "eddy/streams/streams.h"
#include "samples/common.h"

using namespace eddy::streams;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  auto f = samples::parse_flags(argc, argv, {"bootstrap"}, "usage: pageview_enrichment [--bootstrap HOST:PORT]");
  std::unique_ptr<eddy::broker::embedded_broker> broker;
  std::string bootstrap = f.count("bootstrap") ? f["bootstrap"] : "";
  if (bootstrap.empty()) {
    broker = std::make_unique<eddy::broker::embedded_broker>();
    bootstrap = broker->bootstrap_servers();
  }
  stream_builder b;
  auto users = b.table<std::string, std::string>("users", materialized<std::string, std::string>::as("users-store"));
  b.stream<std::string, std::string>("enrich-page-views")
      .left_join(users, [](const std::string& page, const std::optional<std::string>& region) {
        return page + " from " + region.value_or("unknown region");
      })
      .to("enriched-page-views");

  if (!samples::create_topics(bootstrap, {{"users", 2}, {"enrich-page-views", 2}, {"enriched-page-views", 2}})) return 1;
  // Users first (earlier timestamps), then their views.
  // Users first, then the views a few seconds later (recent event times: a broker deletes
  // records older than its retention).
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  samples::produce(bootstrap, "users", {{"alice", "europe"}, {"bob", "asia"}}, now_ms - 10000, 1);
  samples::produce(bootstrap, "enrich-page-views", {{"alice", "/home"}, {"bob", "/cart"}, {"carol", "/help"}}, now_ms - 5000, 1);

  auto dir = std::filesystem::temp_directory_path() / "eddy-pageview-enrichment";
  streams_config cfg{{"application.id", "pageview-enrichment"}, {"bootstrap.servers", bootstrap},
                     {"processing.guarantee", "exactly_once_v2"}, {"state.dir", dir.string()}, {"eddy.log", "false"}};
  streams_app app(b.build(), cfg);
  if (auto st = app.start(); !st.ok) {
    std::cerr << "error: " << st.message << "\n";
    return 1;
  }
  auto out = samples::read_topic(bootstrap, "enriched-page-views", 60s, [](auto& kvs) { return kvs.size() >= 3; });
  app.close();
  for (auto& [k, v] : out) std::cout << k << ": " << v << "\n";
  std::filesystem::remove_all(dir);
  return out.size() >= 3 ? 0 : 1;
}
