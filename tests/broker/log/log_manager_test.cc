#include "broker/log/log_manager.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "tests/broker/log/log_test_util.h"

namespace eddy::broker::log {
namespace {

using protocol::error_code;
using testing::make_batch;
using testing::read_values;
using testing::fake_loop;
using testing::temp_dir;

std::unique_ptr<log_manager> open_ok(const std::filesystem::path& dir, const log_manager_options& o = {}) {
  auto r = log_manager::open(dir, o);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(r).value() : nullptr;
}

TEST(log_manager, topic_names_follow_kafka_rules) {
  EXPECT_TRUE(validate_topic_name("orders.v2_EU-1").ok());
  EXPECT_TRUE(validate_topic_name(std::string(249, 'a')).ok());
  EXPECT_FALSE(validate_topic_name(std::string(250, 'a')).ok());
  EXPECT_FALSE(validate_topic_name("").ok());
  EXPECT_FALSE(validate_topic_name(".").ok());
  EXPECT_FALSE(validate_topic_name("..").ok());
  EXPECT_FALSE(validate_topic_name("a/b").ok());
  EXPECT_FALSE(validate_topic_name("a b").ok());
  EXPECT_EQ(validate_topic_name("é").error().code, error_code::invalid_topic_exception);
}

TEST(log_manager, creates_lists_and_persists_topics) {
  temp_dir d;
  {
    auto lm = open_ok(d.path());
    ASSERT_TRUE(lm->create_topic("orders", 3, {{"retention.ms", "1000"}, {"cleanup.policy", "compact"}}).ok());
    ASSERT_TRUE(lm->create_topic("clicks", 1, {}).ok());
    EXPECT_EQ(lm->create_topic("orders", 1, {}).error().code, error_code::topic_already_exists);
    EXPECT_EQ(lm->create_topic("bad/name", 1, {}).error().code, error_code::invalid_topic_exception);
    EXPECT_EQ(lm->create_topic("zero", 0, {}).error().code, error_code::invalid_partitions);
    EXPECT_EQ(lm->create_topic("cfg", 1, {{"retention.ms", "soon"}}).error().code, error_code::invalid_config);
    EXPECT_EQ(lm->create_topic("cfg", 1, {{"no.such.config", "1"}}).error().code, error_code::invalid_config);
    EXPECT_FALSE(std::filesystem::exists(d.path() / "cfg-0"));
    ASSERT_NE(lm->partition("orders", 2), nullptr);
    EXPECT_EQ(lm->partition("orders", 3), nullptr);
    EXPECT_EQ(lm->partition("nope", 0), nullptr);
    EXPECT_EQ(lm->partition("orders", 1)->config().retention_ms, 1000);
    auto b = make_batch(3);
    ASSERT_TRUE(lm->partition("orders", 1)->append(b, 0).ok());
    // No close(): like kill -9, minus the lost page cache.
    lm->abandon_for_testing();
  }
}

TEST(log_manager, creates_topics_in_the_background) {
  temp_dir d;
  fake_loop loop;
  {
    auto lm = open_ok(d.path());
    lm->enable_background_admin(loop.post());
    std::optional<result<void>> got;
    lm->create_topic_async("wide", 40, {{"retention.ms", "5000"}}, [&](result<void> r) { got = std::move(r); });
    // Until the completion runs on the loop: not there, and being created.
    EXPECT_FALSE(got.has_value());
    EXPECT_FALSE(lm->describe_topic("wide").has_value());
    EXPECT_EQ(lm->partition("wide", 0), nullptr);
    EXPECT_TRUE(lm->being_created("wide"));
    EXPECT_EQ(lm->create_topic("wide", 1, {}).error().code, error_code::leader_not_available);
    // Waiting for the creation: runs after it, with the topic registered.
    bool waited = false;
    lm->after_creation("wide", [&] {
      waited = true;
      EXPECT_NE(lm->partition("wide", 39), nullptr);
    });
    bool at_once = false;
    lm->after_creation("other", [&] { at_once = true; });
    EXPECT_TRUE(at_once);
    EXPECT_FALSE(waited);
    // Checks answer at once, without the admin thread.
    std::optional<result<void>> bad;
    lm->create_topic_async("bad/name", 1, {}, [&](result<void> r) { bad = std::move(r); });
    ASSERT_TRUE(bad.has_value());
    EXPECT_EQ(bad->error().code, error_code::invalid_topic_exception);
    ASSERT_TRUE(loop.run_one());
    ASSERT_TRUE(got.has_value());
    ASSERT_TRUE(got->ok()) << got->error().message;
    EXPECT_TRUE(waited);
    EXPECT_FALSE(lm->being_created("wide"));
    ASSERT_NE(lm->partition("wide", 39), nullptr);
    EXPECT_EQ(lm->partition("wide", 39)->config().retention_ms, 5000);
    auto b = make_batch(2);
    ASSERT_TRUE(lm->partition("wide", 7)->append(b, 0).ok());
    EXPECT_EQ(lm->create_topic("wide", 1, {}).error().code, error_code::topic_already_exists);
    ASSERT_TRUE(lm->close().ok());
  }
  auto lm = open_ok(d.path());
  ASSERT_NE(lm->partition("wide", 39), nullptr);
  EXPECT_EQ(lm->partition("wide", 7)->high_watermark(), 2);
}

TEST(log_manager, a_creation_cut_short_by_shutdown_leaves_nothing_behind) {
  temp_dir d;
  fake_loop loop;
  {
    auto lm = open_ok(d.path());
    lm->enable_background_admin(loop.post());
    bool answered = false;
    lm->create_topic_async("cut", 200, {}, [&](result<void>) { answered = true; });
    ASSERT_TRUE(lm->close().ok());  // before the completion ran
    EXPECT_FALSE(answered);
  }
  loop.run();  // completions posted meanwhile find the manager gone and do nothing
  auto lm = open_ok(d.path());
  EXPECT_FALSE(lm->describe_topic("cut").has_value());
  EXPECT_FALSE(std::filesystem::exists(d.path() / "cut-0"));
  ASSERT_TRUE(lm->create_topic("cut", 2, {}).ok());
}

// A fresh directory gets its (empty) topic list at the first start: partition folders
// left by a first creation cut short (kill -9 while the admin thread made them, before
// the topic list named them) are removed at the next start instead of stopping it.
TEST(log_manager, folders_of_a_first_creation_cut_short_are_removed_at_the_next_start) {
  temp_dir d;
  { auto lm = open_ok(d.path()); }
  EXPECT_TRUE(std::filesystem::exists(d.path() / "topics.meta"));
  std::filesystem::create_directories(d.path() / "cut-0");
  std::filesystem::create_directories(d.path() / "cut-1");
  auto lm = open_ok(d.path());
  EXPECT_FALSE(lm->describe_topic("cut").has_value());
  EXPECT_FALSE(std::filesystem::exists(d.path() / "cut-0"));
  EXPECT_FALSE(std::filesystem::exists(d.path() / "cut-1"));
  ASSERT_TRUE(lm->create_topic("cut", 2, {}).ok());
}

TEST(log_manager, adds_partitions_in_the_background) {
  temp_dir d;
  fake_loop loop;
  {
    auto lm = open_ok(d.path());
    lm->enable_background_admin(loop.post());
    ASSERT_TRUE(lm->create_topic("grow", 2, {}).ok());
    auto b = make_batch(3);
    ASSERT_TRUE(lm->partition("grow", 1)->append(b, 0).ok());
    std::optional<result<void>> got;
    lm->add_partitions_async("grow", 30, [&](result<void> r) { got = std::move(r); });
    // Until the completion runs on the loop: the old partitions only, and busy.
    EXPECT_FALSE(got.has_value());
    EXPECT_EQ(lm->describe_topic("grow")->partition_count, 2);
    EXPECT_EQ(lm->partition("grow", 2), nullptr);
    std::optional<result<void>> again;
    lm->add_partitions_async("grow", 40, [&](result<void> r) { again = std::move(r); });
    ASSERT_TRUE(again.has_value());  // checks answer at once
    EXPECT_EQ(again->error().code, error_code::invalid_partitions);
    EXPECT_EQ(lm->create_topic("grow", 1, {}).error().code, error_code::topic_already_exists);
    // A config change meanwhile reaches the new partitions too.
    ASSERT_TRUE(lm->set_topic_configs("grow", {{"retention.ms", "7000"}}).ok());
    ASSERT_TRUE(loop.run_one());
    ASSERT_TRUE(got.has_value());
    ASSERT_TRUE(got->ok()) << got->error().message;
    EXPECT_EQ(lm->describe_topic("grow")->partition_count, 30);
    ASSERT_NE(lm->partition("grow", 29), nullptr);
    EXPECT_EQ(lm->partition("grow", 29)->config().retention_ms, 7000);
    EXPECT_EQ(lm->partition("grow", 1)->high_watermark(), 3);
    ASSERT_TRUE(lm->partition("grow", 17)->append(b, 0).ok());
    std::optional<result<void>> small;
    lm->add_partitions_async("grow", 30, [&](result<void> r) { small = std::move(r); });
    ASSERT_TRUE(small.has_value());
    EXPECT_EQ(small->error().code, error_code::invalid_partitions);
    ASSERT_TRUE(lm->close().ok());
  }
  auto lm = open_ok(d.path());
  EXPECT_EQ(lm->describe_topic("grow")->partition_count, 30);
  EXPECT_EQ(lm->partition("grow", 17)->high_watermark(), 3);
}

TEST(log_manager, a_topic_deleted_while_it_grows_leaves_nothing_behind) {
  temp_dir d;
  fake_loop loop;
  auto lm = open_ok(d.path());
  lm->enable_background_admin(loop.post());
  ASSERT_TRUE(lm->create_topic("gone", 1, {}).ok());
  std::optional<result<void>> got;
  lm->add_partitions_async("gone", 5, [&](result<void> r) { got = std::move(r); });
  ASSERT_TRUE(lm->delete_topic("gone").ok());
  // The name stays busy until the growth's files are cleaned up.
  EXPECT_EQ(lm->create_topic("gone", 1, {}).error().code, error_code::leader_not_available);
  ASSERT_TRUE(loop.run_one());
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->error().code, error_code::unknown_topic_or_partition);
  for (int p = 0; p < 5; ++p) EXPECT_FALSE(std::filesystem::exists(d.path() / ("gone-" + std::to_string(p)))) << p;
  ASSERT_TRUE(lm->create_topic("gone", 2, {}).ok());
  EXPECT_EQ(lm->partition("gone", 2), nullptr);
  EXPECT_EQ(lm->partition("gone", 1)->high_watermark(), 0);
}

TEST(log_manager, a_growth_cut_short_by_shutdown_leaves_the_old_partitions) {
  temp_dir d;
  fake_loop loop;
  {
    auto lm = open_ok(d.path());
    lm->enable_background_admin(loop.post());
    ASSERT_TRUE(lm->create_topic("cut", 1, {}).ok());
    auto b = make_batch(2);
    ASSERT_TRUE(lm->partition("cut", 0)->append(b, 0).ok());
    bool answered = false;
    lm->add_partitions_async("cut", 100, [&](result<void>) { answered = true; });
    ASSERT_TRUE(lm->close().ok());  // before the completion ran
    EXPECT_FALSE(answered);
  }
  loop.run();
  auto lm = open_ok(d.path());
  EXPECT_EQ(lm->describe_topic("cut")->partition_count, 1);
  EXPECT_EQ(lm->partition("cut", 0)->high_watermark(), 2);
  EXPECT_FALSE(std::filesystem::exists(d.path() / "cut-1"));
  ASSERT_TRUE(lm->add_partitions("cut", 3).ok());
}

TEST(log_manager, survives_unclean_restart_and_reports_configs) {
  temp_dir d;
  {
    auto lm = open_ok(d.path());
    ASSERT_TRUE(lm->create_topic("orders", 2, {{"retention.ms", "1000"}}).ok());
    auto b = make_batch(3);
    ASSERT_TRUE(lm->partition("orders", 1)->append(b, 0).ok());
  }  // clean close by the destructor
  EXPECT_TRUE(std::filesystem::exists(d.path() / ".clean_shutdown"));
  {
    auto lm = open_ok(d.path());
    EXPECT_TRUE(lm->started_clean());
    EXPECT_FALSE(std::filesystem::exists(d.path() / ".clean_shutdown"));
    auto topics = lm->list_topics();
    ASSERT_EQ(topics.size(), 1u);
    EXPECT_EQ(topics[0].name, "orders");
    EXPECT_EQ(topics[0].partition_count, 2);
    EXPECT_EQ(topics[0].overrides.at("retention.ms"), "1000");
    EXPECT_EQ(lm->partition("orders", 1)->high_watermark(), 3);
    auto cfgs = lm->describe_topic_configs("orders");
    ASSERT_TRUE(cfgs.ok());
    int checked = 0;
    for (auto& e : *cfgs) {
      if (e.name == "retention.ms") {
        EXPECT_EQ(e.value, "1000");
        EXPECT_FALSE(e.is_default);
        ++checked;
      }
      if (e.name == "segment.bytes") {
        EXPECT_EQ(e.value, "1073741824");
        EXPECT_TRUE(e.is_default);
        ++checked;
      }
    }
    EXPECT_EQ(checked, 2);
    EXPECT_EQ(lm->describe_topic_configs("nope").error().code, error_code::unknown_topic_or_partition);
    lm->abandon_for_testing();  // simulate a crash: no clean marker written
  }
  auto lm = open_ok(d.path());
  EXPECT_FALSE(lm->started_clean());
  EXPECT_EQ(lm->partition("orders", 1)->high_watermark(), 3);
}

TEST(log_manager, second_broker_on_the_same_directory_is_refused) {
  temp_dir d;
  auto first = open_ok(d.path());
  auto second = log_manager::open(d.path(), {});
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find(d.path().string()), std::string::npos) << second.error().message;
  EXPECT_NE(second.error().message.find("in use"), std::string::npos);
  ASSERT_TRUE(first->close().ok());
  first.reset();
  EXPECT_TRUE(log_manager::open(d.path(), {}).ok());
}

TEST(log_manager, deletes_topics_and_adds_partitions) {
  temp_dir d;
  {
    auto lm = open_ok(d.path());
    ASSERT_TRUE(lm->create_topic("a", 2, {}).ok());
    ASSERT_TRUE(lm->create_topic("b", 1, {}).ok());
    auto batch = make_batch(1);
    ASSERT_TRUE(lm->partition("a", 0)->append(batch, 0).ok());
    ASSERT_TRUE(lm->delete_topic("a").ok());
    EXPECT_FALSE(std::filesystem::exists(d.path() / "a-0"));
    EXPECT_EQ(lm->partition("a", 0), nullptr);
    EXPECT_EQ(lm->delete_topic("a").error().code, error_code::unknown_topic_or_partition);
    EXPECT_EQ(lm->add_partitions("b", 1).error().code, error_code::invalid_partitions);
    ASSERT_TRUE(lm->add_partitions("b", 4).ok());
    EXPECT_NE(lm->partition("b", 3), nullptr);
    // Re-creating a deleted topic starts empty.
    ASSERT_TRUE(lm->create_topic("a", 1, {}).ok());
    EXPECT_EQ(lm->partition("a", 0)->high_watermark(), 0);
  }
  // A leftover folder of a topic that is not in the metadata is removed at open.
  std::filesystem::create_directories(d.path() / "ghost-0");
  auto lm = open_ok(d.path());
  EXPECT_EQ(lm->describe_topic("b")->partition_count, 4);
  EXPECT_FALSE(std::filesystem::exists(d.path() / "ghost-0"));
  EXPECT_EQ(lm->list_topics().size(), 2u);
}

TEST(log_manager, torn_metadata_is_refused_not_guessed) {
  temp_dir d;
  {
    auto lm = open_ok(d.path());
    ASSERT_TRUE(lm->create_topic("a", 1, {}).ok());
  }
  std::filesystem::resize_file(d.path() / "topics.meta", 10);
  auto r = log_manager::open(d.path(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("topics.meta"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(d.path() / "a-0"));  // nothing deleted
}

TEST(log_manager, alters_topic_configs) {
  temp_dir d;
  auto lm = open_ok(d.path());
  ASSERT_TRUE(lm->create_topic("a", 2, {}).ok());
  EXPECT_EQ(lm->set_topic_configs("a", {{"segment.bytes", "-5"}}).error().code, error_code::invalid_config);
  ASSERT_TRUE(lm->set_topic_configs("a", {{"segment.bytes", "5000"}}).ok());
  EXPECT_EQ(lm->partition("a", 1)->config().segment_bytes, 5000);
}

// Retention is checked at the first tick, then every log.retention.check.interval.ms (as
// Kafka's log cleanup task); ticks in between leave expired segments alone.
TEST(log_manager, tick_applies_retention) {
  temp_dir d;
  log_manager_options o;
  o.retention_check_interval_ms = 10'000;
  auto lm = open_ok(d.path(), o);
  ASSERT_TRUE(lm->create_topic("a", 1, {{"segment.bytes", "200"}, {"retention.ms", "1000"}}).ok());
  for (int i = 0; i < 10; ++i) {
    auto b = make_batch(1, 1000, std::string(100, 'x'));
    ASSERT_TRUE(lm->partition("a", 0)->append(b, 0).ok());
  }
  lm->tick(1500);  // checked: nothing is older than 1000 ms yet
  EXPECT_EQ(lm->partition("a", 0)->log_start_offset(), 0);
  lm->tick(3000);  // expired, but the next check is due at 11500
  EXPECT_EQ(lm->partition("a", 0)->log_start_offset(), 0);
  lm->tick(11'500);
  EXPECT_EQ(lm->partition("a", 0)->log_start_offset(), 10);
}

// A full disk, simulated with the file size limit (as in write_behind_test): a log manager
// with write-behind whose partition "a-0" can be made to fail a write.
struct failing_disk : ::testing::Test {
  temp_dir d;
  fake_loop loop;
  std::unique_ptr<log_manager> lm;
  std::vector<std::string> recovered;
  struct rlimit old_limit {};
  void (*old_handler)(int) = nullptr;

  void SetUp() override {
    log_manager_options o;
    o.offline_retry_ms = 1000;
    lm = open_ok(d.path(), o);
    lm->enable_write_behind(loop.post(), [] {});
    lm->set_on_recovered([this](const std::string& t, std::int32_t p) { recovered.push_back(t + "-" + std::to_string(p)); });
    ASSERT_TRUE(lm->create_topic("a", 1, {}).ok());
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    old_handler = std::signal(SIGXFSZ, SIG_IGN);
  }
  void TearDown() override {
    ::setrlimit(RLIMIT_FSIZE, &old_limit);
    std::signal(SIGXFSZ, old_handler);
  }
  partition_log* log() { return lm->partition("a", 0); }
  // A large batch, so that its write is deferred (the produce handler's way).
  void append(char c) {
    auto owned = std::make_shared<std::vector<std::uint8_t>>(make_batch(1, 1000, std::string(300'000, c)));
    auto r = log()->append(*owned, 1000, owned);
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  void append_written(char c) {
    append(c);
    ASSERT_TRUE(log()->drain().ok());
  }
  void fail_a_write(char c) {
    struct rlimit lim = old_limit;
    lim.rlim_cur = testing::file_size(d.path() / "a-0" / "00000000000000000000.log") + 8192;  // no room for c
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &lim), 0);
    append(c);
    EXPECT_FALSE(log()->drain().ok());
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
    ASSERT_FALSE(log()->offline_reason().empty());
  }
  // Runs the loop until `done` holds (the admin thread's work comes back through it).
  template <class F>
  bool run_until(F done) {
    for (int i = 0; i < 5000 && !done(); ++i) {
      loop.run();
      if (!done()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return done();
  }
  static std::string value(char c) { return std::string(300'000, c); }
};

// tick() reopens an offline partition from disk once offline_retry_ms has passed, as a
// restart would, and waits twice as long when it fails again within a minute of coming
// back; a minute online resets the interval. (No admin thread: the reopen runs in tick.)
TEST_F(failing_disk, an_offline_partition_is_reopened_from_disk_with_backoff) {
  append_written('a');
  fail_a_write('x');
  const partition_log* offline = log();
  lm->tick(10'000);  // first seen offline: the first try is due at 11'000
  lm->tick(10'999);
  EXPECT_EQ(log(), offline);
  EXPECT_TRUE(recovered.empty());
  lm->tick(11'000);
  ASSERT_TRUE(log()->offline_reason().empty()) << "reopened from disk";
  EXPECT_EQ(recovered, std::vector<std::string>{"a-0"});
  EXPECT_EQ(log()->log_end_offset(), 1) << "the batch whose write failed is gone";
  EXPECT_EQ(read_values(*log()), std::vector<std::string>{value('a')});
  append_written('b');  // the reopened log appends after the truncated tail

  fail_a_write('y');  // again, soon after coming back: the next try waits 2000 ms
  lm->tick(12'000);
  lm->tick(13'999);
  EXPECT_FALSE(log()->offline_reason().empty());
  lm->tick(14'000);
  ASSERT_TRUE(log()->offline_reason().empty());
  EXPECT_EQ(recovered.size(), 2u);
  append_written('c');
  EXPECT_EQ(read_values(*log()), (std::vector<std::string>{value('a'), value('b'), value('c')}));

  lm->tick(74'000);  // a minute online: the interval is back to 1000 ms
  fail_a_write('z');
  lm->tick(75'000);
  lm->tick(76'000);
  EXPECT_TRUE(log()->offline_reason().empty());
  EXPECT_EQ(read_values(*log()), (std::vector<std::string>{value('a'), value('b'), value('c')}));
}

// With an admin thread the reopen runs there: until it comes back through the loop, the
// offline log stays in place and serves reads.
TEST_F(failing_disk, the_admin_thread_reopens_while_the_offline_log_serves_reads) {
  lm->enable_background_admin(loop.post());
  append_written('a');
  fail_a_write('x');
  const partition_log* offline = log();
  lm->tick(10'000);
  lm->tick(11'000);  // submitted
  EXPECT_EQ(log(), offline);
  EXPECT_EQ(read_values(*log()), std::vector<std::string>{value('a')});
  EXPECT_EQ(log()->delete_records(1).error().code, error_code::kafka_storage_error) << "its files are left alone";
  lm->tick(30'000);  // no second reopen while one is in flight
  ASSERT_TRUE(run_until([&] { return log() != offline; }));
  EXPECT_TRUE(log()->offline_reason().empty());
  EXPECT_EQ(recovered, std::vector<std::string>{"a-0"});
  append_written('b');
  EXPECT_EQ(read_values(*log()), (std::vector<std::string>{value('a'), value('b')}));
}

// A topic deleted while its partition is being reopened keeps its folder until the reopen
// is done (the admin thread works in it), and its name cannot be created again until then.
TEST_F(failing_disk, a_topic_deleted_during_a_reopen_loses_its_folder_after_it) {
  lm->enable_background_admin(loop.post());
  append_written('a');
  fail_a_write('x');
  lm->tick(10'000);
  lm->tick(11'000);  // submitted; its completion waits for the loop
  ASSERT_TRUE(lm->delete_topic("a").ok());
  EXPECT_EQ(lm->partition("a", 0), nullptr);
  EXPECT_TRUE(std::filesystem::exists(d.path() / "a-0"));
  EXPECT_EQ(lm->create_topic("a", 1, {}).error().code, error_code::leader_not_available);
  ASSERT_TRUE(run_until([&] { return !std::filesystem::exists(d.path() / "a-0"); }));
  EXPECT_TRUE(recovered.empty());
  ASSERT_TRUE(lm->create_topic("a", 1, {}).ok());
  EXPECT_EQ(lm->partition("a", 0)->log_end_offset(), 0) << "a new topic, nothing of the old one";
}

// log.offline.retry.ms=-1: offline until a restart, as Kafka keeps a failed log directory.
TEST(log_manager, an_offline_retry_of_minus_one_leaves_offline_partitions_alone) {
  auto o = log_manager_options::parse({{"log.offline.retry.ms", "-1"}});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->offline_retry_ms, -1);
  EXPECT_FALSE(log_manager_options::parse({{"log.offline.retry.ms", "-2"}}).ok());
  EXPECT_EQ(log_manager_options{}.offline_retry_ms, 5000);
}

}  // namespace
}  // namespace eddy::broker::log
