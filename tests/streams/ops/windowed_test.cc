// Windowed aggregations (tumbling, hopping, session), grace and emit-final.
#include <gtest/gtest.h>

#include "eddy/streams/stream_builder.h"
#include "eddy/streams/test_driver.h"

using namespace eddy::streams;
using namespace std::chrono_literals;

namespace {
std::string fmt_w(const windowed<std::string>& w) { return w.key + "@" + std::to_string(w.win.start) + "-" + std::to_string(w.win.end); }
}  // namespace

TEST(windowed, tumbling_counts_with_grace_drop_late_records) {
  stream_builder b;
  auto w = time_windows::of_size_with_grace(10ms, 5ms);
  b.stream<std::string, std::string>("in").group_by_key().windowed_by(w).count(materialized<std::string, int64_t>::as("wc"))
      .to_stream().to("out", produced<windowed<std::string>, int64_t>::with(time_windowed_serde(serdes::string(), 10), serdes::int64()));
  test_driver d(b.build());
  auto in = d.create_input_topic<std::string, std::string>("in");
  in.pipe_input("a", "", 1);
  in.pipe_input("a", "", 9);
  in.pipe_input("a", "", 12);
  in.pipe_input("a", "", 14);  // stream time 14: window [0,10) still open (10 + 5 > 14)
  in.pipe_input("a", "", 3);   // counted in [0,10)
  in.pipe_input("a", "", 16);  // stream time 16: [0,10) closed
  in.pipe_input("a", "", 4);   // late: dropped
  auto out = d.create_output_topic<windowed<std::string>, int64_t>("out", time_windowed_serde(serdes::string(), 10), serdes::int64())
                 .read_records_to_list();
  std::vector<std::string> got;
  for (auto& r : out) got.push_back(fmt_w(r.key) + "=" + std::to_string(r.value));
  EXPECT_EQ(got, (std::vector<std::string>{"a@0-10=1", "a@0-10=2", "a@10-20=1", "a@10-20=2", "a@0-10=3", "a@10-20=3"}));
  auto store = d.get_window_store<std::string, int64_t>("wc");
  EXPECT_EQ(store.fetch("a", 0), 3);
  EXPECT_EQ(store.fetch("a", 10), 3);
}

TEST(windowed, hopping_windows_count_in_every_overlapping_window) {
  stream_builder b;
  auto w = time_windows::of_size_and_no_grace(10ms).advance_by(5ms);
  b.stream<std::string, std::string>("in").group_by_key().windowed_by(w).count(materialized<std::string, int64_t>::as("hop"));
  test_driver d(b.build());
  auto in = d.create_input_topic<std::string, std::string>("in");
  in.pipe_input("k", "", 7);  // windows [0,10) and [5,15)
  in.pipe_input("k", "", 12); // windows [5,15) and [10,20)
  auto s = d.get_window_store<std::string, int64_t>("hop");
  EXPECT_EQ(s.fetch("k", 0), 1);
  EXPECT_EQ(s.fetch("k", 5), 2);
  EXPECT_EQ(s.fetch("k", 10), 1);
  EXPECT_EQ(s.fetch("k", 0, 100).size(), 3u);
}

TEST(windowed, session_windows_merge_when_bridged) {
  stream_builder b;
  b.stream<std::string, std::string>("in")
      .group_by_key()
      .windowed_by(session_windows::with_inactivity_gap_and_grace(10ms, 100ms))
      .count(materialized<std::string, int64_t>::as("sess"))
      .to_stream()
      .to("out", produced<windowed<std::string>, int64_t>::with(session_windowed_serde(serdes::string()), serdes::int64()));
  test_driver d(b.build());
  auto in = d.create_input_topic<std::string, std::string>("in");
  in.pipe_input("u", "", 0);
  in.pipe_input("u", "", 30);  // separate session
  in.pipe_input("u", "", 15);  // bridges? 15 is within 10 of neither 0 (needs <=10) nor 30 (needs >=20): new session
  in.pipe_input("u", "", 22);  // bridges [15,15] and [30,30] -> [15,30] count 3
  auto out = d.create_output_topic<windowed<std::string>, int64_t>("out", session_windowed_serde(serdes::string()), serdes::int64())
                 .read_records_to_list();
  std::vector<std::string> got;
  for (auto& r : out) got.push_back(fmt_w(r.key) + "=" + (r.value_is_null ? "null" : std::to_string(r.value)));
  EXPECT_EQ(got, (std::vector<std::string>{"u@0-0=1", "u@30-30=1", "u@15-15=1", "u@15-15=null", "u@30-30=null",
                                           "u@15-30=3"}));
}

TEST(windowed, suppress_emits_only_final_results_when_windows_close) {
  stream_builder b;
  auto w = time_windows::of_size_with_grace(10ms, 2ms);
  b.stream<std::string, std::string>("in").group_by_key().windowed_by(w).count()
      .suppress_until_window_closes()
      .to_stream()
      .to("final", produced<windowed<std::string>, int64_t>::with(time_windowed_serde(serdes::string(), 10), serdes::int64()));
  test_driver d(b.build());
  auto in = d.create_input_topic<std::string, std::string>("in");
  auto out = d.create_output_topic<windowed<std::string>, int64_t>("final", time_windowed_serde(serdes::string(), 10), serdes::int64());
  in.pipe_input("a", "", 1);
  in.pipe_input("a", "", 2);
  in.pipe_input("b", "", 5);
  in.pipe_input("a", "", 11);
  EXPECT_TRUE(out.read_records_to_list().empty());  // stream time 11 < 10 + 2
  in.pipe_input("a", "", 12);                        // closes [0,10)
  auto got = out.read_records_to_list();
  ASSERT_EQ(got.size(), 2u);
  std::map<std::string, int64_t> m;
  for (auto& r : got) m[fmt_w(r.key)] = r.value;
  EXPECT_EQ(m["a@0-10"], 2);
  EXPECT_EQ(m["b@0-10"], 1);
  in.pipe_input("z", "", 30);
  got = out.read_records_to_list();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(fmt_w(got[0].key), "a@10-20");
  EXPECT_EQ(got[0].value, 2);
}
