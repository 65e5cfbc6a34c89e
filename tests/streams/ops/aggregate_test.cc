// Aggregations through the test driver: count, reduce, aggregate, with repartitioning.
#include <gtest/gtest.h>

#include "eddy/streams/stream_builder.h"
#include "eddy/streams/test_driver.h"

using namespace eddy::streams;

namespace {

topology page_view_counts() {
  stream_builder b;
  b.stream<std::string, std::string>("page-views")
      .group_by([](const std::string&, const std::string& page) { return page; })
      .count(materialized<std::string, int64_t>::as("counts"))
      .to_stream()
      .to("page-view-counts");
  return b.build();
}

}  // namespace

TEST(aggregate, count_after_group_by_repartitions_and_counts_per_page) {
  test_driver d(page_view_counts(), {{"application.id", "pv"}}, {{"page-views", 3}});
  auto in = d.create_input_topic<std::string, std::string>("page-views");
  auto out = d.create_output_topic<std::string, int64_t>("page-view-counts");
  in.pipe_input("alice", "/home", 1);
  in.pipe_input("bob", "/home", 2);
  in.pipe_input("carol", "/cart", 3);
  in.pipe_input("alice", "/home", 4);
  auto list = out.read_key_values_to_list();
  ASSERT_EQ(list.size(), 4u);
  auto m = std::map<std::string, int64_t>();
  for (auto& [k, v] : list) m[k] = v;
  EXPECT_EQ(m["/home"], 3);
  EXPECT_EQ(m["/cart"], 1);
  EXPECT_EQ((d.key_value_store_contents<std::string, int64_t>("counts")),
            (std::map<std::string, int64_t>{{"/cart", 1}, {"/home", 3}}));
  // The repartition topic and the changelog exist with 3 partitions' worth of records.
  EXPECT_EQ(d.topic_contents("pv-counts-repartition").size(), 4u);
  EXPECT_EQ(d.topic_contents("pv-counts-changelog").size(), 4u);
}

TEST(aggregate, reduce_and_aggregate) {
  stream_builder b;
  auto s = b.stream<std::string, int64_t>("nums");
  s.group_by_key().reduce([](int64_t a, int64_t b) { return std::max(a, b); }, materialized<std::string, int64_t>::as("max"))
      .to_stream().to("max-out");
  s.group_by_key()
      .aggregate([] { return std::string(); },
                 [](const std::string&, int64_t v, const std::string& agg) { return agg + std::to_string(v) + ","; },
                 materialized<std::string, std::string>::as("concat"))
      .to_stream().to("concat-out");
  test_driver d(b.build());
  auto in = d.create_input_topic<std::string, int64_t>("nums");
  in.pipe_input("a", 3, 1);
  in.pipe_input("a", 1, 2);
  in.pipe_input("b", 7, 3);
  in.pipe_input("a", 5, 4);
  auto maxes = d.create_output_topic<std::string, int64_t>("max-out").read_key_values_to_map();
  EXPECT_EQ(maxes, (std::map<std::string, int64_t>{{"a", 5}, {"b", 7}}));
  auto cat = d.create_output_topic<std::string, std::string>("concat-out").read_values_to_list();
  EXPECT_EQ(cat, (std::vector<std::string>{"3,", "3,1,", "7,", "3,1,5,"}));
}
