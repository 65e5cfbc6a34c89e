// IncrementalAlterConfigs through the wire (none of the interop clients speaks it:
// librdkafka 2.0.2, kafka-python 2.0.2 and kafkajs 2.2.4 only have AlterConfigs, which
// kafka_python_test, kafkajs_test and librdkafka_plain_test cover): SET, DELETE, APPEND and
// SUBTRACT on a topic's overrides, validate_only, and the per-resource errors.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/protocol/error_code.h"
#include "core/protocol/messages/describe_configs.h"
#include "core/protocol/messages/incremental_alter_configs.h"
#include "eddy/broker/embedded_broker.h"
#include "tests/support/raw_client.h"

namespace eddy::broker {
namespace {

using protocol::error_code;
using op = std::pair<std::int8_t, std::optional<std::string>>;  // operation, value
constexpr std::int8_t set = 0, del = 1, append = 2, subtract = 3;

std::uint16_t port_of(const embedded_broker& b) {
  auto s = b.bootstrap_servers();
  return std::uint16_t(std::stoi(s.substr(s.rfind(':') + 1)));
}

class incremental_alter_configs : public ::testing::Test {
 protected:
  embedded_broker broker_{embedded_broker_options{{}, "127.0.0.1:0", {}}};
  test::raw_client c_{port_of(broker_)};

  void SetUp() override {
    auto r = c_.create_topic("t");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->topics[0].error_code, 0);
  }
  // One resource's (error code, message) after changing `configs` (name -> operation).
  std::pair<std::int16_t, std::string> alter(const std::vector<std::pair<std::string, op>>& configs,
                                             bool validate_only = false, std::int8_t type = 2,
                                             const std::string& name = "t") {
    protocol::incremental_alter_configs_request req;
    req.validate_only = validate_only;
    auto& res = req.resources.emplace_back();
    res.resource_type = type;
    res.resource_name = name;
    for (const auto& [n, o] : configs) res.configs.push_back({n, o.first, o.second});
    auto r = c_.call<protocol::incremental_alter_configs_response>(req, 1);
    EXPECT_TRUE(r);
    if (!r || r->responses.size() != 1) return {-1, "no answer"};
    return {r->responses[0].error_code, r->responses[0].error_message.value_or("")};
  }
  // The topic's overrides (configs that are not at their default).
  std::map<std::string, std::string> overrides() {
    protocol::describe_configs_request req;
    req.resources.push_back({2, "t", std::nullopt});
    auto r = c_.call<protocol::describe_configs_response>(req, 2);
    EXPECT_TRUE(r);
    std::map<std::string, std::string> out;
    if (r)
      for (const auto& c : r->results[0].configs)
        if (c.config_source != 5) out[c.name] = c.value.value_or("");
    return out;
  }
};

TEST_F(incremental_alter_configs, set_delete_append_and_subtract_edit_the_overrides) {
  EXPECT_EQ(alter({{"retention.ms", {set, "3600000"}}, {"segment.bytes", {set, "1048576"}}}).first, 0);
  EXPECT_EQ(overrides(), (std::map<std::string, std::string>{{"retention.ms", "3600000"}, {"segment.bytes", "1048576"}}));
  // Unlike AlterConfigs, configs not named keep their overrides.
  EXPECT_EQ(alter({{"segment.bytes", {del, std::nullopt}}}).first, 0);
  EXPECT_EQ(overrides(), (std::map<std::string, std::string>{{"retention.ms", "3600000"}}));
  // cleanup.policy is a list: APPEND to the default "delete", then SUBTRACT it. (Described
  // in its canonical order.)
  EXPECT_EQ(alter({{"cleanup.policy", {append, "compact"}}}).first, 0);
  EXPECT_EQ(overrides()["cleanup.policy"], "compact,delete");
  EXPECT_EQ(alter({{"cleanup.policy", {append, "compact"}}}).first, 0) << "appending what is there adds nothing";
  EXPECT_EQ(overrides()["cleanup.policy"], "compact,delete");
  EXPECT_EQ(alter({{"cleanup.policy", {subtract, "delete"}}}).first, 0);
  EXPECT_EQ(overrides()["cleanup.policy"], "compact");
}

TEST_F(incremental_alter_configs, validate_only_and_errors_change_nothing) {
  ASSERT_EQ(alter({{"retention.ms", {set, "3600000"}}}).first, 0);
  const auto before = overrides();
  EXPECT_EQ(alter({{"retention.ms", {set, "1000"}}}, /*validate_only=*/true).first, 0);
  EXPECT_EQ(overrides(), before);
  auto bad = alter({{"retention.ms", {set, "soon"}}});
  EXPECT_EQ(bad.first, std::int16_t(error_code::invalid_config));
  EXPECT_NE(bad.second.find("retention.ms"), std::string::npos) << bad.second;
  EXPECT_EQ(alter({{"no.such.config", {set, "1"}}}).first, std::int16_t(error_code::invalid_config));
  EXPECT_EQ(alter({{"retention.ms", {append, "5"}}}).first, std::int16_t(error_code::invalid_config)) << "not a list";
  EXPECT_EQ(alter({{"cleanup.policy", {subtract, "delete"}}, {"cleanup.policy", {append, "compact"}}}).first,
            std::int16_t(error_code::invalid_request))
      << "a config named twice";
  EXPECT_EQ(alter({{"retention.ms", {set, std::nullopt}}}).first, std::int16_t(error_code::invalid_request));
  EXPECT_EQ(alter({{"retention.ms", {7, "1"}}}).first, std::int16_t(error_code::invalid_request));
  EXPECT_EQ(alter({{"retention.ms", {set, "1"}}}, false, 2, "nope").first,
            std::int16_t(error_code::unknown_topic_or_partition));
  EXPECT_EQ(alter({{"num.partitions", {set, "3"}}}, false, 4, "1").first, std::int16_t(error_code::invalid_request));
  EXPECT_EQ(alter({{"x", {set, "3"}}}, false, 3, "g").first, std::int16_t(error_code::invalid_request));
  // A resource named twice in one request: both get INVALID_REQUEST.
  protocol::incremental_alter_configs_request twice;
  for (int i = 0; i < 2; ++i) twice.resources.push_back({2, "t", {{"retention.ms", set, "1000"}}});
  auto r = c_.call<protocol::incremental_alter_configs_response>(twice, 0);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->responses.size(), 2u);
  for (const auto& res : r->responses) EXPECT_EQ(res.error_code, std::int16_t(error_code::invalid_request));
  EXPECT_EQ(overrides(), before);
}

}  // namespace
}  // namespace eddy::broker
