#include "broker/log/log_config.h"

#include <gtest/gtest.h>

#include <tuple>

namespace eddy::broker::log {
namespace {

TEST(log_config, kafka_defaults) {
  log_config c;
  EXPECT_EQ(c.segment_bytes, 1073741824);
  EXPECT_EQ(c.segment_ms, 604800000);
  EXPECT_EQ(c.retention_ms, 604800000);
  EXPECT_EQ(c.retention_bytes, -1);
  EXPECT_EQ(c.max_message_bytes, 1048588);
  EXPECT_EQ(c.cleanup_policy(), "delete");
  EXPECT_EQ(c.delete_retention_ms, 86400000);
  EXPECT_EQ(c.index_interval_bytes, 4096);
  EXPECT_EQ(c.segment_index_bytes, 10485760);
  EXPECT_EQ(c.flush_messages, never);
}

TEST(log_config, parses_topic_names) {
  auto c = log_config::parse_topic({{"segment.bytes", "1000"},
                                    {"retention.ms", "-1"},
                                    {"cleanup.policy", "compact,delete"},
                                    {"message.timestamp.type", "LogAppendTime"}},
                                   log_config{});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->segment_bytes, 1000);
  EXPECT_EQ(c->retention_ms, -1);
  EXPECT_TRUE(c->cleanup_compact);
  EXPECT_TRUE(c->cleanup_delete);
  EXPECT_TRUE(c->log_append_time);
}

TEST(log_config, rejects_bad_values_with_clear_messages) {
  auto e = log_config::parse_topic({{"retention.ms", "-2"}}, {});
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, protocol::error_code::invalid_config);
  EXPECT_NE(e.error().message.find("retention.ms"), std::string::npos);
  EXPECT_FALSE(log_config::parse_topic({{"segment.bytes", "12abc"}}, {}).ok());
  EXPECT_FALSE(log_config::parse_topic({{"segment.bytes", "99999999999"}}, {}).ok());
  EXPECT_FALSE(log_config::parse_topic({{"cleanup.policy", "forever"}}, {}).ok());
  EXPECT_FALSE(log_config::parse_topic({{"cleanup.policy", ""}}, {}).ok());
  auto u = log_config::parse_topic({{"log.segment.bytes", "1000"}}, {});
  ASSERT_FALSE(u.ok());  // broker spelling is not a topic config
  EXPECT_NE(u.error().message.find("unknown topic config"), std::string::npos);
}

TEST(log_config, broker_names_and_units) {
  auto o = log_manager_options::parse({{"log.segment.bytes", "2048"},
                                       {"log.retention.hours", "2"},
                                       {"log.roll.ms", "5000"},
                                       {"message.max.bytes", "100"},
                                       {"log.flush.strict", "true"},
                                       {"listeners", "PLAINTEXT://:9092"}});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->defaults.segment_bytes, 2048);
  EXPECT_EQ(o->defaults.retention_ms, 2 * 3600 * 1000);
  EXPECT_EQ(o->defaults.segment_ms, 5000);
  EXPECT_EQ(o->defaults.max_message_bytes, 100);
  EXPECT_TRUE(o->flush_strict);
  // ms beats minutes beats hours.
  auto p = log_manager_options::parse({{"log.retention.ms", "7"}, {"log.retention.minutes", "1"}});
  EXPECT_EQ(p->defaults.retention_ms, 7);
  auto m = log_manager_options::parse({{"log.retention.minutes", "1"}, {"log.retention.hours", "1"}});
  EXPECT_EQ(m->defaults.retention_ms, 60000);
  EXPECT_FALSE(log_manager_options::parse({{"log.flush.strict", "yes"}}).ok());
  EXPECT_EQ(o->defaults.pagecache_window_bytes, 32 << 20);
  auto w = log_manager_options::parse({{"log.pagecache.window.bytes", "0"}});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->defaults.pagecache_window_bytes, 0);
  EXPECT_TRUE(o->defaults.write_direct);
  auto nd = log_manager_options::parse({{"log.write.direct", "false"}});
  ASSERT_TRUE(nd.ok());
  EXPECT_FALSE(nd->defaults.write_direct);
  EXPECT_FALSE(log_manager_options::parse({{"log.write.direct", "1"}}).ok());
  auto bad_window = log_manager_options::parse({{"log.pagecache.window.bytes", "-5"}});
  ASSERT_FALSE(bad_window.ok());
  EXPECT_NE(bad_window.error().message.find("log.pagecache.window.bytes"), std::string::npos);
  EXPECT_FALSE(log_manager_options::parse({{"log.retention.hours", "x"}}).ok());
  // log.write.behind: auto (the default) writes a lone client's large batches on the loop.
  EXPECT_TRUE(o->write_behind && o->write_inline_when_alone);
  for (auto [value, behind, inline_when_alone] :
       {std::tuple{"auto", true, true}, std::tuple{"true", true, false}, std::tuple{"false", false, false}}) {
    auto wb = log_manager_options::parse({{"log.write.behind", value}});
    ASSERT_TRUE(wb.ok()) << value;
    EXPECT_EQ(wb->write_behind, behind) << value;
    EXPECT_EQ(wb->write_inline_when_alone, inline_when_alone) << value;
  }
  auto bad_behind = log_manager_options::parse({{"log.write.behind", "sometimes"}});
  ASSERT_FALSE(bad_behind.ok());
  EXPECT_NE(bad_behind.error().message.find("auto, true or false"), std::string::npos) << bad_behind.error().message;
}

TEST(log_config, describe_marks_defaults) {
  log_config defaults;
  defaults.retention_ms = 5;
  auto rows = describe_config(defaults, {{"segment.ms", "60000"}});
  EXPECT_EQ(rows.size(), topic_config_names().size());
  for (auto& r : rows) {
    if (r.name == "segment.ms") {
      EXPECT_EQ(r.value, "60000");
      EXPECT_FALSE(r.is_default);
    } else if (r.name == "retention.ms") {
      EXPECT_EQ(r.value, "5");
      EXPECT_TRUE(r.is_default);
    } else if (r.name == "cleanup.policy") {
      EXPECT_EQ(r.value, "delete");
    }
  }
}

}  // namespace
}  // namespace eddy::broker::log
