// Stateless operators through the test driver.
#include <gtest/gtest.h>

#include "eddy/streams/stream_builder.h"
#include "eddy/streams/test_driver.h"

using namespace eddy::streams;

TEST(stateless, filter_map_values_flat_map_select_key) {
  stream_builder b;
  auto s = b.stream<std::string, int64_t>("in");
  s.filter([](const std::string&, int64_t v) { return v % 2 == 0; }).to("even");
  s.filter_not([](const std::string&, int64_t v) { return v % 2 == 0; }).to("odd");
  s.map_values([](int64_t v) { return std::to_string(v * 10); }).to("times10");
  s.flat_map_values([](const std::string& k, int64_t v) { return std::vector<std::string>(static_cast<size_t>(v), k); })
      .to("repeated");
  s.select_key([](const std::string& k, int64_t v) { return k + "#" + std::to_string(v); }).to("rekeyed");
  s.map([](const std::string& k, int64_t v) { return std::make_pair(v, k); })
      .to("swapped", produced<int64_t, std::string>::with(serdes::int64(), serdes::string()));
  s.flat_map([](const std::string& k, int64_t v) {
     return std::vector<std::pair<std::string, int64_t>>{{k + "a", v}, {k + "b", -v}};
   }).to("fanned");
  test_driver d(b.build());
  auto in = d.create_input_topic<std::string, int64_t>("in");
  in.pipe_input("x", 1, 10);
  in.pipe_input("y", 2, 20);
  EXPECT_EQ((d.create_output_topic<std::string, int64_t>("even").read_key_values_to_list()),
            (std::vector<std::pair<std::string, int64_t>>{{"y", 2}}));
  EXPECT_EQ((d.create_output_topic<std::string, int64_t>("odd").read_key_values_to_list()),
            (std::vector<std::pair<std::string, int64_t>>{{"x", 1}}));
  EXPECT_EQ((d.create_output_topic<std::string, std::string>("times10").read_values_to_list()),
            (std::vector<std::string>{"10", "20"}));
  EXPECT_EQ((d.create_output_topic<std::string, std::string>("repeated").read_values_to_list()),
            (std::vector<std::string>{"x", "y", "y"}));
  EXPECT_EQ((d.create_output_topic<std::string, int64_t>("rekeyed").read_key_values_to_list()),
            (std::vector<std::pair<std::string, int64_t>>{{"x#1", 1}, {"y#2", 2}}));
  EXPECT_EQ((d.create_output_topic<int64_t, std::string>("swapped").read_key_values_to_list()),
            (std::vector<std::pair<int64_t, std::string>>{{1, "x"}, {2, "y"}}));
  auto fanned = d.create_output_topic<std::string, int64_t>("fanned").read_records_to_list();
  ASSERT_EQ(fanned.size(), 4u);
  EXPECT_EQ(fanned[1].key, "xb");
  EXPECT_EQ(fanned[1].value, -1);
  EXPECT_EQ(fanned[3].timestamp, 20);  // timestamps carry through
}

TEST(stateless, peek_foreach_merge_and_split) {
  stream_builder b;
  std::vector<std::string> peeked, each;
  auto a = b.stream<std::string, std::string>("a");
  auto c = b.stream<std::string, std::string>("c");
  auto merged = a.merge(c).peek([&](const std::string& k, const std::string&) { peeked.push_back(k); });
  merged.foreach([&](const std::string&, const std::string& v) { each.push_back(v); });
  auto branches = merged.split("br-")
                      .branch([](const std::string&, const std::string& v) { return v.starts_with("x"); }, "x")
                      .branch([](const std::string&, const std::string& v) { return v.starts_with("y"); }, "y")
                      .default_branch("other");
  ASSERT_EQ(branches.size(), 3u);
  branches.at("br-x").to("out-x");
  branches.at("br-y").to("out-y");
  branches.at("br-other").to("out-other");
  test_driver d(b.build());
  auto ia = d.create_input_topic<std::string, std::string>("a");
  auto ic = d.create_input_topic<std::string, std::string>("c");
  ia.pipe_input("1", "x1", 1);
  ic.pipe_input("2", "y1", 2);
  ia.pipe_input("3", "z1", 3);
  ic.pipe_input("4", "x2", 4);
  EXPECT_EQ(peeked, (std::vector<std::string>{"1", "2", "3", "4"}));
  EXPECT_EQ(each, (std::vector<std::string>{"x1", "y1", "z1", "x2"}));
  EXPECT_EQ((d.create_output_topic<std::string, std::string>("out-x").read_values_to_list()), (std::vector<std::string>{"x1", "x2"}));
  EXPECT_EQ((d.create_output_topic<std::string, std::string>("out-y").read_values_to_list()), (std::vector<std::string>{"y1"}));
  EXPECT_EQ((d.create_output_topic<std::string, std::string>("out-other").read_values_to_list()), (std::vector<std::string>{"z1"}));
}

TEST(stateless, topic_chooser_headers_and_repartition) {
  stream_builder b;
  b.stream<std::string, std::string>("in")
      .repartition(repartitioned<std::string, std::string>::as("by-key"))
      .to([](const std::string& k, const std::string&) { return k == "a" ? std::string("to-a") : std::string("to-rest"); });
  test_driver d(b.build(), {{"application.id", "app"}}, {{"in", 4}});
  auto in = d.create_input_topic<std::string, std::string>("in");
  in.pipe_input_with_headers("a", "v1", 5, {{"h", "1"}});
  in.pipe_input("b", "v2", 6);
  auto a = d.create_output_topic<std::string, std::string>("to-a").read_records_to_list();
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].hdrs, (headers{{"h", "1"}}));
  EXPECT_EQ(a[0].timestamp, 5);
  EXPECT_EQ((d.create_output_topic<std::string, std::string>("to-rest").read_values_to_list()), (std::vector<std::string>{"v2"}));
  EXPECT_EQ(d.topic_contents("app-by-key-repartition").size(), 2u);
}

TEST(stateless, missing_serde_is_reported_at_build) {
  struct point { int x; };
  stream_builder b;
  b.stream<std::string, std::string>("in").map_values([](const std::string&) { return point{1}; }).to("out");
  try {
    b.build();
    FAIL() << "expected invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("serde"), std::string::npos) << e.what();
  }
}

TEST(stateless, deserialization_errors_fail_or_skip_by_config) {
  stream_builder b;
  b.stream<std::string, int64_t>("in").to("out");
  auto t = b.build();
  {
    test_driver d(t, {{"application.id", "x"}, {"default.deserialization.exception.handler", "log_and_continue"}});
    d.pipe_raw("in", std::string("k"), std::string("bad"), 1);
    d.pipe_raw("in", std::string("k"), serdes::int64().serialize(7), 2);
    EXPECT_EQ((d.create_output_topic<std::string, int64_t>("out").read_values_to_list()), (std::vector<int64_t>{7}));
  }
  test_driver d(t, {{"application.id", "x"}});
  EXPECT_THROW(d.pipe_raw("in", std::string("k"), std::string("bad"), 1), std::runtime_error);
}
