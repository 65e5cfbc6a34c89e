// streams_app against Eddy's embedded broker: internal topics created by the app, the EOS
// commit loop, restore from the changelog.
#include <gtest/gtest.h>

#include <filesystem>

#include "eddy/streams/stream_builder.h"
#include "eddy/streams/streams_app.h"
#include "tests/streams/runtime/test_cluster.h"

using namespace eddy::streams;

namespace {

topology counts_topology() {
  stream_builder b;
  b.stream<std::string, std::string>("page-views")
      .group_by([](const std::string&, const std::string& page) { return page; })
      .count(materialized<std::string, int64_t>::as("counts"))
      .to_stream()
      .map_values([](int64_t n) { return std::to_string(n); })
      .to("page-view-counts");
  return b.build();
}

std::map<std::string, std::string> latest(const std::vector<std::pair<std::string, std::string>>& kvs) {
  std::map<std::string, std::string> m;
  for (auto& [k, v] : kvs) m[k] = v;
  return m;
}

std::string temp_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("eddy-streams-test-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  return d.string();
}

void run_counts(const std::string& guarantee) {
  test_support::test_cluster mc;
  mc.create_topic("page-views", 2);
  mc.create_topic("page-view-counts", 2);
  std::vector<std::pair<std::string, std::string>> input;
  std::map<std::string, int> truth;
  for (int i = 0; i < 300; ++i) {
    std::string page = "/p" + std::to_string(i % 7);
    input.emplace_back("user" + std::to_string(i % 13), page);
    ++truth[page];
  }
  mc.produce("page-views", input);
  streams_config cfg{{"application.id", "counts-" + guarantee}, {"bootstrap.servers", mc.bootstrap()},
                     {"processing.guarantee", guarantee}, {"state.dir", temp_dir(guarantee)},
                     {"commit.interval.ms", "100"}, {"num.stream.threads", "2"}, {"eddy.log", "false"}};
  streams_app app(counts_topology(), cfg);
  auto st = app.start();
  ASSERT_TRUE(st.ok) << st.message;
  auto out = mc.consume_all("page-view-counts", std::chrono::seconds(40), [&](auto& kvs) {
    auto m = latest(kvs);
    for (auto& [p, n] : truth)
      if (m[p] != std::to_string(n)) return false;
    return true;
  });
  app.close();
  auto m = latest(out);
  for (auto& [p, n] : truth) EXPECT_EQ(m[p], std::to_string(n)) << p;
  EXPECT_GT(app.commits(), 0);
  std::filesystem::remove_all(cfg.state_dir());
}

}  // namespace

TEST(streams_app, counts_exactly_once) { run_counts("exactly_once_v2"); }

TEST(streams_app, counts_at_least_once) { run_counts("at_least_once"); }

TEST(streams_app, missing_source_topic_is_a_clear_error) {
  test_support::test_cluster mc;
  streams_config cfg{{"application.id", "missing"}, {"bootstrap.servers", mc.bootstrap()}, {"state.dir", temp_dir("missing")}};
  streams_app app(counts_topology(), cfg);
  auto st = app.start();
  EXPECT_FALSE(st.ok);
  EXPECT_NE(st.message.find("page-views"), std::string::npos) << st.message;
  EXPECT_NE(st.message.find("does not exist"), std::string::npos) << st.message;
}

TEST(streams_app, bad_config_is_reported) {
  streams_app app(counts_topology(), streams_config{{"bootstrap.servers", "localhost:1"}});
  auto st = app.start();
  EXPECT_FALSE(st.ok);
  EXPECT_NE(st.message.find("application.id"), std::string::npos);
}

// A second instance with no local state restores the counts from the changelog, and one
// that keeps its RocksDB state replays only the tail: either way counting continues exactly.
// Runs exactly_once_v2: offsets are committed with the outputs in one transaction.
TEST(streams_app, restores_state_from_changelog_after_restart) {
  test_support::test_cluster mc;
  mc.create_topic("page-views", 2);
  mc.create_topic("page-view-counts", 2);
  std::string dir1 = temp_dir("restore1"), dir2 = temp_dir("restore2");
  auto cfg = [&](const std::string& dir) {
    return streams_config{{"application.id", "restore"}, {"bootstrap.servers", mc.bootstrap()},
                          {"processing.guarantee", "exactly_once_v2"}, {"commit.interval.ms", "100"}, {"state.dir", dir}, {"eddy.log", "false"}};
  };
  auto wait_for = [&](const std::map<std::string, std::string>& want) {
    auto out = mc.consume_all("page-view-counts", std::chrono::seconds(30), [&](auto& kvs) {
      auto m = latest(kvs);
      for (auto& [p, n] : want)
        if (m[p] != n) return false;
      return true;
    });
    return latest(out);
  };
  mc.produce("page-views", {{"u1", "/a"}, {"u2", "/a"}, {"u3", "/b"}});
  {
    streams_app app(counts_topology(), cfg(dir1));
    ASSERT_TRUE(app.start().ok);
    auto m = wait_for({{"/a", "2"}, {"/b", "1"}});
    EXPECT_EQ(m["/a"], "2");
    app.close();
  }
  mc.produce("page-views", {{"u4", "/a"}, {"u5", "/b"}});
  {
    streams_app app(counts_topology(), cfg(dir2));  // empty state dir: full restore
    ASSERT_TRUE(app.start().ok);
    auto m = wait_for({{"/a", "3"}, {"/b", "2"}});
    EXPECT_EQ(m["/a"], "3");
    EXPECT_EQ(m["/b"], "2");
    app.close();
  }
  mc.produce("page-views", {{"u6", "/b"}});
  {
    streams_app app(counts_topology(), cfg(dir1));  // stale local state: replays the tail only
    ASSERT_TRUE(app.start().ok);
    auto m = wait_for({{"/a", "3"}, {"/b", "3"}});
    EXPECT_EQ(m["/a"], "3");
    EXPECT_EQ(m["/b"], "3");
    app.close();
  }
  std::filesystem::remove_all(dir1);
  std::filesystem::remove_all(dir2);
}
