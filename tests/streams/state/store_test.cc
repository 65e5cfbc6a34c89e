// Store layers: staging (transactional), RocksDB durability of data + changelog offset,
// and the processor API with stores and punctuators through the driver.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "eddy/streams/stream_builder.h"
#include "eddy/streams/test_driver.h"
#include "streams/state/memory_store.h"
#include "streams/state/rocksdb_store.h"
#include "streams/state/staged_store.h"

using namespace eddy::streams;

namespace {
std::vector<std::string> keys(kv_bytes_store& s) {
  std::vector<std::string> out;
  s.range(std::nullopt, std::nullopt, [&](std::string_view k, std::string_view) {
    out.emplace_back(k);
    return true;
  });
  return out;
}
}  // namespace

TEST(staged_store, reads_see_staged_writes_commit_applies_abort_drops) {
  state::memory_store base;
  base.put("a", std::string_view("1"));
  base.put("c", std::string_view("3"));
  state::staged_store s(base);
  s.put("b", std::string_view("2"));
  s.put("c", std::nullopt);
  EXPECT_EQ(s.get("b"), "2");
  EXPECT_EQ(s.get("c"), std::nullopt);
  EXPECT_EQ(keys(s), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(base.get("b"), std::nullopt);  // nothing applied yet
  s.abort();
  EXPECT_EQ(keys(s), (std::vector<std::string>{"a", "c"}));
  s.put("d", std::string_view("4"));
  s.commit(41);
  EXPECT_EQ(base.get("d"), "4");
  EXPECT_EQ(base.changelog_offset(), 41);
}

TEST(staged_store, sealed_and_unapplied_layers) {
  state::memory_store base;
  base.put("a", std::string_view("1"));
  base.put("c", std::string_view("3"));
  state::staged_store s(base);
  s.set_apply_policy(3, 1 << 20, /*apply_first=*/false);
  EXPECT_EQ(base.changelog_offset(), -1);
  s.put("b", std::string_view("2"));
  s.put("c", std::nullopt);
  s.seal();  // transaction 1 is committing; transaction 2 writes meanwhile
  s.put("d", std::string_view("4"));
  s.put("b", std::string_view("22"));
  EXPECT_EQ(s.get("b"), "22");
  EXPECT_EQ(s.get("c"), std::nullopt);
  EXPECT_EQ(keys(s), (std::vector<std::string>{"a", "b", "d"}));
  s.commit_sealed(10);  // 1 committed: held in memory (applied every 3 commits)
  EXPECT_EQ(base.changelog_offset(), -1);
  EXPECT_EQ(base.get("c"), "3");
  EXPECT_EQ(s.get("c"), std::nullopt);
  s.abort();  // 2 aborted: back to the state after 1
  EXPECT_EQ(s.get("b"), "2");
  EXPECT_EQ(s.get("d"), std::nullopt);
  EXPECT_EQ(keys(s), (std::vector<std::string>{"a", "b"}));
  s.put("e", std::string_view("5"));
  s.commit(12);
  EXPECT_EQ(base.changelog_offset(), -1);
  std::vector<std::pair<std::string, std::string>> from_b;
  s.range(std::string_view("b"), std::string_view("e"), [&](std::string_view k, std::string_view v) {
    from_b.emplace_back(k, v);
    return true;
  });
  EXPECT_EQ(from_b, (std::vector<std::pair<std::string, std::string>>{{"b", "2"}}));
  s.put("a", std::nullopt);
  s.commit(15);  // the third commit applies all three at once, with the last offset
  EXPECT_EQ(base.changelog_offset(), 15);
  EXPECT_EQ(keys(base), (std::vector<std::string>{"b", "e"}));
  EXPECT_EQ(s.unapplied_entries(), 0u);
  s.put("f", std::string_view("6"));
  s.commit(16);
  s.flush();
  EXPECT_EQ(base.changelog_offset(), 16);
  EXPECT_EQ(base.get("f"), "6");
}

// A store just opened (or restored) applies its first commit at once, so a backlog processed
// right after a start is not replayed again by the next crash; later commits are deferred.
TEST(staged_store, first_commit_after_open_applies_at_once) {
  state::memory_store base;
  state::staged_store s(base);
  s.set_apply_policy(10, 1 << 20);
  s.put("a", std::string_view("1"));
  s.commit(5);
  EXPECT_EQ(base.changelog_offset(), 5);
  EXPECT_EQ(base.get("a"), "1");
  s.put("b", std::string_view("2"));
  s.commit(6);
  EXPECT_EQ(base.changelog_offset(), 5);
  EXPECT_EQ(s.unapplied_entries(), 1u);
}

// A crash (no flush) after commits held in memory leaves RocksDB at an older changelog offset;
// replaying the changelog from there (what restore does) yields the committed state.
TEST(staged_store, crash_before_apply_reopens_at_older_offset_and_replays) {
  auto dir = (std::filesystem::temp_directory_path() / ("eddy-staged-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  std::vector<std::pair<std::string, std::optional<std::string>>> changelog;  // offset = index
  std::map<std::string, std::string> expected;
  {
    std::string err;
    auto db = state::rocksdb_store::open(dir, err);
    ASSERT_TRUE(db) << err;
    state::staged_store s(*db);
    s.set_apply_policy(4, 1 << 20, /*apply_first=*/false);
    for (int txn = 0; txn < 7; ++txn) {  // 7 commits: applied after the 4th, 3 held in memory
      for (int i = 0; i < 5; ++i) {
        std::string k = "k" + std::to_string((txn * 3 + i) % 8);
        std::optional<std::string> v;
        if ((txn + i) % 4 != 0) v = "v" + std::to_string(txn) + "-" + std::to_string(i);
        s.put(k, v);
        changelog.emplace_back(k, v);
        if (v) expected[k] = *v;
        else expected.erase(k);
      }
      s.commit(static_cast<int64_t>(changelog.size()) - 1);
    }
    EXPECT_EQ(db->changelog_offset(), 19);  // 4 commits of 5 records
    // kill -9: the staged store's memory is lost, nothing more reaches RocksDB
  }
  std::string err;
  auto db = state::rocksdb_store::open(dir, err);
  ASSERT_TRUE(db) << err;
  ASSERT_EQ(db->changelog_offset(), 19);
  state::write_batch tail;
  for (size_t o = db->changelog_offset() + 1; o < changelog.size(); ++o) tail.push_back(changelog[o]);
  db->apply(tail, static_cast<int64_t>(changelog.size()) - 1);
  std::map<std::string, std::string> got;
  db->range(std::nullopt, std::nullopt, [&](std::string_view k, std::string_view v) {
    got.emplace(k, v);
    return true;
  });
  EXPECT_EQ(got, expected);
  EXPECT_EQ(db->changelog_offset(), 34);
  db.reset();
  std::filesystem::remove_all(dir);
}

TEST(rocksdb_store, data_and_changelog_offset_survive_reopen) {
  auto dir = (std::filesystem::temp_directory_path() / ("eddy-rocks-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  {
    std::string err;
    auto db = state::rocksdb_store::open(dir, err);
    ASSERT_TRUE(db) << err;
    EXPECT_EQ(db->changelog_offset(), -1);
    db->apply({{"k1", "v1"}, {"k2", "v2"}, {"k1", std::nullopt}}, 17);
  }
  std::string err;
  auto db = state::rocksdb_store::open(dir, err);
  ASSERT_TRUE(db) << err;
  EXPECT_EQ(db->changelog_offset(), 17);
  EXPECT_EQ(db->get("k1"), std::nullopt);
  EXPECT_EQ(db->get("k2"), "v2");
  EXPECT_EQ(keys(*db), (std::vector<std::string>{"k2"}));
  db.reset();
  std::filesystem::remove_all(dir);
}

namespace {
// Counts per key in a store; emits all counts every 10 ms of stream time.
struct counting_processor : processor<std::string, std::string, std::string, int64_t> {
  processor_context<std::string, int64_t>* ctx = nullptr;
  std::optional<key_value_store<std::string, int64_t>> counts;
  void init(processor_context<std::string, int64_t>& c) override {
    ctx = &c;
    counts.emplace(c.get_key_value_store<std::string, int64_t>("proc-counts"));
    c.schedule(std::chrono::milliseconds(10), punctuation_type::stream_time, [this](int64_t t) {
      for (auto& [k, v] : counts->all()) ctx->forward({k, v, t, {{"punctuated", std::nullopt}}});
    });
  }
  void process(const record<std::string, std::string>& r) override {
    counts->put(r.key, counts->get(r.key).value_or(0) + 1);
  }
};
}  // namespace

TEST(processor_api, stores_punctuation_and_changelog) {
  stream_builder b;
  b.add_state_store(stores::key_value("proc-counts"));
  b.stream<std::string, std::string>("in")
      .process<std::string, int64_t>([] { return std::make_unique<counting_processor>(); }, {"proc-counts"})
      .to("out");
  test_driver d(b.build(), {{"application.id", "p"}});
  auto in = d.create_input_topic<std::string, std::string>("in");
  auto out = d.create_output_topic<std::string, int64_t>("out");
  in.pipe_input("a", "", 1);
  in.pipe_input("a", "", 5);
  EXPECT_TRUE(out.read_records_to_list().empty());
  in.pipe_input("b", "", 12);  // stream time passes 10: punctuate
  auto got = out.read_records_to_list();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].key, "a");
  EXPECT_EQ(got[0].value, 2);
  EXPECT_EQ(got[0].timestamp, 12);
  EXPECT_EQ(got[0].hdrs.size(), 1u);
  EXPECT_EQ(d.topic_contents("p-proc-counts-changelog").size(), 3u);
}

TEST(processor_api, wall_clock_punctuation) {
  struct ticker : processor<std::string, std::string, std::string, std::string> {
    processor_context<std::string, std::string>* ctx = nullptr;
    void init(processor_context<std::string, std::string>& c) override {
      ctx = &c;
      c.schedule(std::chrono::milliseconds(100), punctuation_type::wall_clock_time,
                 [this](int64_t t) { ctx->forward({"tick", std::to_string(t), t, {}}); });
    }
    void process(const record<std::string, std::string>&) override {}
  };
  stream_builder b;
  b.stream<std::string, std::string>("in")
      .process<std::string, std::string>([] { return std::make_unique<ticker>(); })
      .to("ticks");
  test_driver d(b.build());
  d.advance_wall_clock_time(50);
  d.advance_wall_clock_time(60);
  d.advance_wall_clock_time(100);
  EXPECT_EQ((d.create_output_topic<std::string, std::string>("ticks").read_values_to_list()),
            (std::vector<std::string>{"110", "210"}));
}

TEST(serdes, kafka_compatible_encodings) {
  EXPECT_EQ(serdes::int32().serialize(1), std::string("\0\0\0\1", 4));
  EXPECT_EQ(serdes::int64().serialize(-1), std::string(8, '\xff'));
  EXPECT_EQ(serdes::int64().deserialize(serdes::int64().serialize(1234567890123)), 1234567890123);
  EXPECT_EQ(serdes::float64().deserialize(serdes::float64().serialize(2.5)), 2.5);
  EXPECT_EQ(serdes::float64().serialize(1.0), std::string("\x3f\xf0\0\0\0\0\0\0", 8));
  EXPECT_THROW(serdes::int32().deserialize("abc"), serde_error);
  auto ws = time_windowed_serde(serdes::string(), 60000);
  auto w = ws.deserialize(ws.serialize({"page", {120000, 180000}}));
  EXPECT_EQ(w.key, "page");
  EXPECT_EQ(w.win, (window{120000, 180000}));
}
