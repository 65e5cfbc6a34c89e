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
  li.pipe_input("k", "L3", 150);  // no match: held until stream time passes 160
  ri.pipe_input("k", "R3", 200);  // no match either (L3 is too far); closes L3's window
  EXPECT_EQ((d.create_output_topic<std::string, std::string>("inner").read_values_to_list()),
            (std::vector<std::string>{"L1+R1", "L2+R2"}));
  // L1 and R2 found their partner within the window: no null results for them (Kafka Streams
  // since 3.1); L3's comes once its window closed, R3's is still pending.
  EXPECT_EQ((d.create_output_topic<std::string, std::string>("left").read_values_to_list()),
            (std::vector<std::string>{"L1+R1", "L2+R2", "L3+null"}));
  EXPECT_EQ((d.create_output_topic<std::string, std::string>("outer").read_values_to_list()),
            (std::vector<std::string>{"L1+R1", "L2+R2", "L3+null"}));
}

namespace {
// l.left_join(r) to "left" and l.outer_join(r) to "outer", values joined as "a+b" (null = "null").
topology left_and_outer_join_topology(join_windows w) {
  stream_builder b;
  auto l = b.stream<std::string, std::string>("l");
  auto r = b.stream<std::string, std::string>("r");
  l.left_join(r, [](const std::string& a, const std::optional<std::string>& c) { return a + "+" + c.value_or("null"); }, w)
      .to("left");
  l.outer_join(r, [](const std::optional<std::string>& a, const std::optional<std::string>& c) {
     return a.value_or("null") + "+" + c.value_or("null");
   }, w).to("outer");
  return b.build();
}

std::vector<std::string> values_of_key(const std::vector<test_record<std::string, std::string>>& recs, const std::string& k) {
  std::vector<std::string> out;
  for (auto& r : recs)
    if (r.key == k) out.push_back(r.value);
  return out;
}
}  // namespace

TEST(join, stream_stream_left_emits_unmatched_only_once_the_window_closed) {
  test_driver d(left_and_outer_join_topology(join_windows::of_time_difference_with_grace(10ms, 5ms)));
  auto li = d.create_input_topic<std::string, std::string>("l");
  auto ri = d.create_input_topic<std::string, std::string>("r");
  auto left = d.create_output_topic<std::string, std::string>("left");
  li.pipe_input("b", "Lb", 100);
  li.pipe_input("a", "La", 101);
  ri.pipe_input("x", "Rx", 115);  // stream time 115 = 100 + after + grace: Lb's window is still open
  EXPECT_TRUE(left.read_records_to_list().empty());
  ri.pipe_input("x", "Rx2", 116);  // 116 > 115 closes Lb's window only
  auto got = left.read_records_to_list();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].key, "b");
  EXPECT_EQ(got[0].value, "Lb+null");
  EXPECT_EQ(got[0].timestamp, 100);  // the held record's own timestamp
  ri.pipe_input("x", "Rx3", 300);  // closes La's; Lb's is not emitted again
  got = left.read_records_to_list();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].value, "La+null");
  EXPECT_EQ(got[0].timestamp, 101);
  li.pipe_input("c", "Lc", 400);
  EXPECT_TRUE(left.read_records_to_list().empty());
  // Held records of several keys come out in timestamp order, whatever their keys.
  li.pipe_input("z", "Lz", 401);
  li.pipe_input("y", "Ly", 402);
  li.pipe_input("w", "Lw", 500);
  EXPECT_EQ(values_of_key(d.create_output_topic<std::string, std::string>("outer").read_records_to_list(), "x"),
            (std::vector<std::string>{"null+Rx", "null+Rx2", "null+Rx3"}));
  EXPECT_EQ(left.read_values_to_list(), (std::vector<std::string>{"Lc+null", "Lz+null", "Ly+null"}));
}

TEST(join, stream_stream_left_matched_later_in_the_window_gives_only_the_joined_result) {
  test_driver d(left_and_outer_join_topology(join_windows::of_time_difference_with_grace(10ms, 5ms)));
  auto li = d.create_input_topic<std::string, std::string>("l");
  auto ri = d.create_input_topic<std::string, std::string>("r");
  auto left = d.create_output_topic<std::string, std::string>("left");
  auto outer = d.create_output_topic<std::string, std::string>("outer");
  li.pipe_input("k", "L1", 100);
  li.pipe_input("k", "L2", 200);
  ri.pipe_input("x", "Rx", 214);   // advances stream time (other key)
  ri.pipe_input("k", "R2", 209);   // out of order, within L2's window [190, 210] and its grace
  ri.pipe_input("x", "Rx2", 1000);  // closes every window so far
  // L1 found no partner: its null result came when its window closed (at stream time 200).
  EXPECT_EQ(left.read_values_to_list(), (std::vector<std::string>{"L1+null", "L2+R2"}));
  EXPECT_EQ(values_of_key(outer.read_records_to_list(), "k"), (std::vector<std::string>{"L1+null", "L2+R2"}));
  // A record that arrives after its window has closed gets its null result at once.
  li.pipe_input("k", "L3", 500);
  auto got = left.read_records_to_list();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].value, "L3+null");
  EXPECT_EQ(got[0].timestamp, 500);
}

TEST(join, stream_stream_outer_holds_right_records_until_their_window_closes) {
  // Asymmetric window: a left record at t matches right records in [t - 5, t + 20], so a right
  // record at t is matched by left records in [t - 20, t + 5] and waits until stream time passes t + 5.
  test_driver d(left_and_outer_join_topology(join_windows{5, 20, 0}));
  auto li = d.create_input_topic<std::string, std::string>("l");
  auto ri = d.create_input_topic<std::string, std::string>("r");
  auto left = d.create_output_topic<std::string, std::string>("left");
  auto outer = d.create_output_topic<std::string, std::string>("outer");
  ri.pipe_input("k", "R1", 100);
  li.pipe_input("z", "Lz", 105);
  EXPECT_TRUE(values_of_key(outer.read_records_to_list(), "k").empty());
  li.pipe_input("z", "Lz2", 106);  // 106 > 100 + 5
  auto got = outer.read_records_to_list();
  ASSERT_EQ(values_of_key(got, "k"), (std::vector<std::string>{"null+R1"}));
  for (auto& r : got) {
    if (r.key == "k") {
      EXPECT_EQ(r.timestamp, 100);
    }
  }
  // A right record matched by a later left record within the window: only the joined result.
  ri.pipe_input("k", "R2", 200);
  li.pipe_input("k", "L2", 204);
  // And a left record, which waits until stream time passes its timestamp + 20.
  li.pipe_input("k", "L3", 300);
  ri.pipe_input("z", "Rz", 320);
  EXPECT_EQ(values_of_key(outer.read_records_to_list(), "k"), (std::vector<std::string>{"L2+R2"}));
  ri.pipe_input("z", "Rz2", 321);
  EXPECT_EQ(values_of_key(outer.read_records_to_list(), "k"), (std::vector<std::string>{"L3+null"}));
  ri.pipe_input("z", "Rz3", 1000);
  EXPECT_TRUE(values_of_key(outer.read_records_to_list(), "k").empty());
  // The left join never emits right records without a match.
  EXPECT_EQ(values_of_key(left.read_records_to_list(), "k"), (std::vector<std::string>{"L2+R2", "L3+null"}));
}

TEST(join, stream_stream_held_records_are_restored_from_the_changelog) {
  topology t = left_and_outer_join_topology(join_windows::of_time_difference_and_no_grace(10ms));
  std::vector<std::string> outer_stores;
  for (auto& [name, spec] : t.graph()->stores)
    if (name.find("OUTERSHARED") != std::string::npos) outer_stores.push_back(name);
  ASSERT_EQ(outer_stores.size(), 2u);  // one per left/outer join
  test_driver d1(t, {{"application.id", "jr"}});
  auto li1 = d1.create_input_topic<std::string, std::string>("l");
  li1.pipe_input("a", "La", 100);
  li1.pipe_input("b", "Lb", 100);
  EXPECT_TRUE((d1.create_output_topic<std::string, std::string>("left").read_records_to_list().empty()));
  for (auto& s : outer_stores) EXPECT_FALSE(d1.topic_contents("jr-" + s + "-changelog").empty());

  // A new instance restores every store from its changelog, then goes on.
  test_driver d2(t, {{"application.id", "jr"}});
  for (auto& [name, spec] : t.graph()->stores)
    for (auto& rec : d1.topic_contents("jr-" + name + "-changelog"))
      d2.store(name)->put(*rec.key, rec.value ? std::optional<std::string_view>(*rec.value) : std::nullopt);
  auto ri2 = d2.create_input_topic<std::string, std::string>("r");
  ri2.pipe_input("b", "Rb", 105);  // matches the restored Lb
  ri2.pipe_input("x", "Rx", 200);  // closes La's window
  EXPECT_EQ((d2.create_output_topic<std::string, std::string>("left").read_values_to_list()),
            (std::vector<std::string>{"Lb+Rb", "La+null"}));
  EXPECT_EQ(values_of_key(d2.create_output_topic<std::string, std::string>("outer").read_records_to_list(), "b"),
            (std::vector<std::string>{"Lb+Rb"}));
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
