// Joins: stream-table, stream-stream windowed, table-table; and a table group_by with subtractor.
#include <gtest/gtest.h>

#include "eddy/streams/stream_builder.h"
#include "eddy/streams/test_driver.h"

using namespace eddy::streams;
using namespace std::chrono_literals;

TEST(join, stream_table_inner_and_left) {
  stream_builder b;
  auto users = b.table<std::string, std::string>("users", materialized<std::string, std::string>::as("users"));
  auto views = b.stream<std::string, std::string>("views");
  views.join(users, [](const std::string& page, const std::string& region) { return page + "/" + region; }).to("inner");
  views.left_join(users, [](const std::string& page, const std::optional<std::string>& region) {
         return page + "/" + region.value_or("?");
       }).to("left");
  test_driver d(b.build(), {{"application.id", "j"}}, {{"users", 2}, {"views", 2}});
  auto u = d.create_input_topic<std::string, std::string>("users");
  auto v = d.create_input_topic<std::string, std::string>("views");
  u.pipe_input("alice", "eu", 1);
  v.pipe_input("alice", "/home", 2);
  v.pipe_input("bob", "/cart", 3);
  u.pipe_input("bob", "asia", 4);
  v.pipe_input("bob", "/help", 5);
  u.pipe_tombstone("alice", 6);
  v.pipe_input("alice", "/again", 7);
  EXPECT_EQ((d.create_output_topic<std::string, std::string>("inner").read_values_to_list()),
            (std::vector<std::string>{"/home/eu", "/help/asia"}));
  EXPECT_EQ((d.create_output_topic<std::string, std::string>("left").read_values_to_list()),
            (std::vector<std::string>{"/home/eu", "/cart/?", "/help/asia", "/again/?"}));
}

TEST(join, stream_stream_windowed_inner_left_outer) {
  stream_builder b;
  auto l = b.stream<std::string, std::string>("l");
  auto r = b.stream<std::string, std::string>("r");
  auto w = join_windows::of_time_difference_and_no_grace(10ms);
  l.join(r, [](const std::string& a, const std::string& c) { return a + "+" + c; }, w).to("inner");
  l.left_join(r, [](const std::string& a, const std::optional<std::string>& c) { return a + "+" + c.value_or("null"); }, w)
      .to("left");
  l.outer_join(r, [](const std::optional<std::string>& a, const std::optional<std::string>& c) {
     return a.value_or("null") + "+" + c.value_or("null");
   }, w).to("outer");
  test_driver d(b.build());
  auto li = d.create_input_topic<std::string, std::string>("l");
  auto ri = d.create_input_topic<std::string, std::string>("r");
  li.pipe_input("k", "L1", 100);
  ri.pipe_input("k", "R1", 105);  // within 10 of L1
  ri.pipe_input("k", "R2", 130);  // too far
  li.pipe_input("k", "L2", 135);  // matches R2
  EXPECT_EQ((d.create_output_topic<std::string, std::string>("inner").read_values_to_list()),
            (std::vector<std::string>{"L1+R1", "L2+R2"}));
  EXPECT_EQ((d.create_output_topic<std::string, std::string>("left").read_values_to_list()),
            (std::vector<std::string>{"L1+null", "L1+R1", "L2+R2"}));
  EXPECT_EQ((d.create_output_topic<std::string, std::string>("outer").read_values_to_list()),
            (std::vector<std::string>{"L1+null", "L1+R1", "null+R2", "L2+R2"}));
}

TEST(join, table_table_inner_left_outer) {
  stream_builder b;
  auto t1 = b.table<std::string, std::string>("t1", materialized<std::string, std::string>::as("s1"));
  auto t2 = b.table<std::string, std::string>("t2", materialized<std::string, std::string>::as("s2"));
  t1.join(t2, [](const std::string& a, const std::string& c) { return a + c; }).to_stream().to("inner");
  t1.left_join(t2, [](const std::string& a, const std::optional<std::string>& c) { return a + c.value_or("-"); })
      .to_stream().to("left");
  t1.outer_join(t2, [](const std::optional<std::string>& a, const std::optional<std::string>& c) {
      return a.value_or("-") + c.value_or("-");
    }).to_stream().to("outer");
  test_driver d(b.build());
  auto i1 = d.create_input_topic<std::string, std::string>("t1");
  auto i2 = d.create_input_topic<std::string, std::string>("t2");
  i1.pipe_input("k", "a", 1);
  i2.pipe_input("k", "x", 2);
  i2.pipe_input("j", "y", 3);
  i1.pipe_tombstone("k", 4);
  EXPECT_EQ((d.create_output_topic<std::string, std::string>("inner").read_key_values_to_map()), (std::map<std::string, std::string>{}));
  auto left = d.create_output_topic<std::string, std::string>("left").read_records_to_list();
  ASSERT_EQ(left.size(), 3u);  // a-, ax, delete
  EXPECT_EQ(left[1].value, "ax");
  EXPECT_TRUE(left[2].value_is_null);
  EXPECT_EQ((d.create_output_topic<std::string, std::string>("outer").read_key_values_to_map()),
            (std::map<std::string, std::string>{{"j", "-y"}, {"k", "-x"}}));
}

TEST(table, group_by_with_subtractor_moves_rows_between_groups) {
  stream_builder b;
  b.table<std::string, std::string>("user-regions", materialized<std::string, std::string>::as("ur"))
      .group_by([](const std::string& user, const std::string& region) { return std::make_pair(region, user); })
      .count(materialized<std::string, int64_t>::as("per-region"))
      .to_stream()
      .to("region-counts");
  test_driver d(b.build(), {{"application.id", "t"}}, {{"user-regions", 3}});
  auto in = d.create_input_topic<std::string, std::string>("user-regions");
  in.pipe_input("alice", "eu", 1);
  in.pipe_input("bob", "eu", 2);
  in.pipe_input("carol", "asia", 3);
  in.pipe_input("bob", "asia", 4);   // moves bob: eu -1, asia +1
  in.pipe_tombstone("alice", 5);     // eu -1
  EXPECT_EQ((d.key_value_store_contents<std::string, int64_t>("per-region")),
            (std::map<std::string, int64_t>{{"asia", 2}, {"eu", 0}}));
  EXPECT_EQ((d.create_output_topic<std::string, int64_t>("region-counts").read_key_values_to_map()),
            (std::map<std::string, int64_t>{{"asia", 2}, {"eu", 0}}));
}

TEST(table, filter_and_map_values) {
  stream_builder b;
  b.table<std::string, int64_t>("scores", materialized<std::string, int64_t>::as("scores"))
      .filter([](const std::string&, int64_t v) { return v >= 10; })
      .map_values([](int64_t v) { return std::to_string(v); })
      .to_stream()
      .to("high");
  test_driver d(b.build());
  auto in = d.create_input_topic<std::string, int64_t>("scores");
  in.pipe_input("a", 5, 1);
  in.pipe_input("b", 12, 2);
  in.pipe_input("b", 3, 3);  // b drops out: forwarded as a deletion
  auto got = d.create_output_topic<std::string, std::string>("high").read_records_to_list();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].value, "12");
  EXPECT_TRUE(got[1].value_is_null);
}
