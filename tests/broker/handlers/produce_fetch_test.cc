// Produce/Fetch/ListOffsets through the wire: offsets assigned, per-partition errors with
// the right Kafka codes, long poll, OFFSET_OUT_OF_RANGE, acks=0 silence.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <thread>

#include <boost/asio/post.hpp>

#include "broker/broker.h"
#include "broker/broker_config.h"
#include "broker/log/background_worker.h"
#include "broker/log/log_manager.h"
#include "broker/log/partition_log.h"
#include "core/protocol/messages/all.h"
#include "core/record/batch_builder.h"
#include "core/record/batch_reader.h"
#include "eddy/broker/embedded_broker.h"
#include "tests/support/fetched_batches.h"
#include "tests/support/raw_client.h"

namespace eddy::broker {
namespace {

using protocol::bytes;
using protocol::error_code;

std::uint16_t port_of(const embedded_broker& b) {
  auto s = b.bootstrap_servers();
  return std::uint16_t(std::stoi(s.substr(s.rfind(':') + 1)));
}

bytes make_batch(int n, const std::string& prefix, std::int64_t ts = 1000) {
  record::batch_builder bb;
  std::vector<std::string> vals;
  for (int i = 0; i < n; ++i) vals.push_back(prefix + std::to_string(i));
  for (int i = 0; i < n; ++i) bb.add(ts + i, std::string_view("k"), std::string_view(vals[std::size_t(i)]));
  return std::move(bb.build().value());
}

protocol::produce_request produce_of(const std::string& topic, std::int32_t partition, bytes batch, std::int16_t acks = 1) {
  protocol::produce_request p;
  p.acks = acks;
  p.timeout_ms = 1000;
  auto& t = p.topic_data.emplace_back();
  t.name = topic;
  t.partition_data.push_back({partition, std::move(batch)});
  return p;
}

protocol::fetch_request fetch_of(const std::string& topic, std::int64_t offset, std::int32_t max_wait = 0) {
  protocol::fetch_request f;
  f.replica_id = -1;
  f.max_wait_ms = max_wait;
  f.min_bytes = 1;
  f.max_bytes = 1 << 20;
  f.topics.push_back({topic, {{0, -1, offset, -1, 1 << 20}}});
  return f;
}

class produce_fetch_test : public ::testing::Test {
 protected:
  embedded_broker broker_{embedded_broker_options{{}, "127.0.0.1:0", {{"auto.create.topics.enable", "false"},
                                                                       {"message.max.bytes", "10000"}}}};
  test::raw_client c_{port_of(broker_)};

  void SetUp() override {
    auto r = c_.create_topic("t");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->topics[0].error_code, 0);
  }
};

TEST_F(produce_fetch_test, offsets_are_assigned_and_fetched_back) {
  for (int round = 0; round < 3; ++round) {
    auto r = c_.call<protocol::produce_response>(produce_of("t", 0, make_batch(5, "v")), 7);
    ASSERT_TRUE(r);
    auto& p = r->responses[0].partition_responses[0];
    EXPECT_EQ(p.error_code, 0);
    EXPECT_EQ(p.base_offset, round * 5);
  }
  auto f = c_.call<protocol::fetch_response>(fetch_of("t", 7), 11);
  ASSERT_TRUE(f);
  auto& pd = f->responses[0].partitions[0];
  EXPECT_EQ(pd.error_code, 0);
  EXPECT_EQ(pd.high_watermark, 15);
  ASSERT_TRUE(pd.records);
  std::vector<std::int64_t> offsets;
  record::batch_splitter split(record::byte_span(pd.records->data(), pd.records->size()));
  record::byte_span batch;
  while (split.next(batch)) {
    auto reader = record::batch_reader::open(batch);
    ASSERT_TRUE(reader);
    for (const auto& rec : *reader) offsets.push_back(rec.offset);
  }
  // Whole batches: the one containing offset 7 starts at 5.
  ASSERT_EQ(offsets.size(), 10u);
  EXPECT_EQ(offsets.front(), 5);
  EXPECT_EQ(offsets.back(), 14);
}

TEST_F(produce_fetch_test, per_partition_errors) {
  // Unknown topic with auto-creation off.
  auto r = c_.call<protocol::produce_response>(produce_of("nope", 0, make_batch(1, "x")), 7);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->responses[0].partition_responses[0].error_code, std::int16_t(error_code::unknown_topic_or_partition));
  // Unknown partition.
  r = c_.call<protocol::produce_response>(produce_of("t", 5, make_batch(1, "x")), 7);
  EXPECT_EQ(r->responses[0].partition_responses[0].error_code, std::int16_t(error_code::unknown_topic_or_partition));
  // Corrupt CRC.
  auto bad = make_batch(2, "x");
  bad.back() ^= 0x55;
  r = c_.call<protocol::produce_response>(produce_of("t", 0, bad), 7);
  EXPECT_EQ(r->responses[0].partition_responses[0].error_code, std::int16_t(error_code::corrupt_message));
  // Too large for max.message.bytes (10000).
  r = c_.call<protocol::produce_response>(produce_of("t", 0, make_batch(1, std::string(20000, 'z'))), 7);
  EXPECT_EQ(r->responses[0].partition_responses[0].error_code, std::int16_t(error_code::message_too_large));
  // Invalid acks.
  r = c_.call<protocol::produce_response>(produce_of("t", 0, make_batch(1, "x"), 5), 7);
  EXPECT_EQ(r->responses[0].partition_responses[0].error_code, std::int16_t(error_code::invalid_required_acks));
  // Two batches in one partition's records.
  auto two = make_batch(1, "a");
  auto second = make_batch(1, "b");
  two.insert(two.end(), second.begin(), second.end());
  r = c_.call<protocol::produce_response>(produce_of("t", 0, two), 7);
  EXPECT_EQ(r->responses[0].partition_responses[0].error_code, std::int16_t(error_code::invalid_record));
  // Nothing was appended by any of these.
  auto f = c_.call<protocol::fetch_response>(fetch_of("t", 0), 11);
  EXPECT_EQ(f->responses[0].partitions[0].high_watermark, 0);
  // Fetch beyond the end.
  f = c_.call<protocol::fetch_response>(fetch_of("t", 42), 11);
  EXPECT_EQ(f->responses[0].partitions[0].error_code, std::int16_t(error_code::offset_out_of_range));
  // An errored partition still carries an empty record set, never a null one: librdkafka
  // rejects the whole response on a record set size of -1 ("invalid MessageSetSize").
  ASSERT_TRUE(f->responses[0].partitions[0].records.has_value());
  EXPECT_TRUE(f->responses[0].partitions[0].records->empty());
  auto unknown = fetch_of("nope", 0);
  f = c_.call<protocol::fetch_response>(unknown, 11);
  EXPECT_EQ(f->responses[0].partitions[0].error_code, std::int16_t(error_code::unknown_topic_or_partition));
  EXPECT_TRUE(f->responses[0].partitions[0].records.has_value());
}

TEST_F(produce_fetch_test, long_poll_returns_when_data_arrives) {
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(c_.send(fetch_of("t", 0, 5000), 11, 900));
  test::raw_client producer(port_of(broker_));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(producer.call<protocol::produce_response>(produce_of("t", 0, make_batch(3, "late")), 7));
  auto frame = c_.read_frame(6000);
  ASSERT_TRUE(frame);
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_LT(waited, std::chrono::milliseconds(3000));
  protocol::reader rd(frame->data(), frame->size());
  EXPECT_EQ(rd.read_int32(), 900);
  protocol::fetch_response resp;
  resp.decode(rd, 11);
  EXPECT_EQ(resp.responses[0].partitions[0].high_watermark, 3);
  ASSERT_TRUE(resp.responses[0].partitions[0].records);
  EXPECT_FALSE(resp.responses[0].partitions[0].records->empty());
}

TEST_F(produce_fetch_test, long_poll_times_out_empty) {
  auto start = std::chrono::steady_clock::now();
  auto f = c_.call<protocol::fetch_response>(fetch_of("t", 0, 300), 11);
  ASSERT_TRUE(f);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));
  EXPECT_TRUE(!f->responses[0].partitions[0].records || f->responses[0].partitions[0].records->empty());
}

TEST_F(produce_fetch_test, acks_zero_gets_no_response) {
  ASSERT_TRUE(c_.send(produce_of("t", 0, make_batch(2, "q"), 0), 7, 55));
  // The next request's response is the first thing that comes back.
  auto r = c_.call<protocol::api_versions_response>(protocol::api_versions_request{}, 2);
  ASSERT_TRUE(r);
  auto f = c_.call<protocol::fetch_response>(fetch_of("t", 0), 11);
  EXPECT_EQ(f->responses[0].partitions[0].high_watermark, 2);
}

TEST_F(produce_fetch_test, list_offsets_earliest_latest_and_by_time) {
  ASSERT_TRUE(c_.call<protocol::produce_response>(produce_of("t", 0, make_batch(4, "a", 1000)), 7));
  ASSERT_TRUE(c_.call<protocol::produce_response>(produce_of("t", 0, make_batch(4, "b", 5000)), 7));
  auto query = [&](std::int64_t ts) {
    protocol::list_offsets_request req;
    req.replica_id = -1;
    req.topics.push_back({"t", {{0, -1, ts, 1}}});
    auto r = c_.call<protocol::list_offsets_response>(req, 5);
    EXPECT_TRUE(r);
    return r->topics[0].partitions[0].offset;
  };
  EXPECT_EQ(query(-2), 0);
  EXPECT_EQ(query(-1), 8);
  EXPECT_EQ(query(1002), 2);   // inside the first batch
  EXPECT_EQ(query(4000), 4);   // first record of the second batch
  EXPECT_EQ(query(99999), -1); // after everything
}

// ListOffsets by timestamp looks up on the reader thread. When the log start moves past
// the record it found meanwhile (retention, DeleteRecords), the partition is looked up
// again from the new start: the answer is the first record still there, never -1.
TEST(list_offsets_test, a_log_start_moving_during_a_lookup_by_time_gets_a_fresh_lookup) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "eddy-list-offsets-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  broker_config cfg;
  cfg.listen_port = 0;
  cfg.data_dir = tmpl;
  cfg.auto_create_topics = false;
  broker b(cfg);
  ASSERT_FALSE(b.start().has_value());
  std::thread loop([&] { b.run(); });
  {
    test::raw_client c(b.bound_port());
    ASSERT_TRUE(c.create_topic("t"));
    // Offsets 0-3 at 1000-1003 ms, 4-7 at 5000-5003 ms.
    ASSERT_TRUE(c.call<protocol::produce_response>(produce_of("t", 0, make_batch(4, "a", 1000)), 7));
    ASSERT_TRUE(c.call<protocol::produce_response>(produce_of("t", 0, make_batch(4, "b", 5000)), 7));

    // On the loop: hold the reader thread until `gate` opens; move the log start.
    auto on_loop = [&](auto f) {
      std::promise<void> done;
      boost::asio::post(b.io(), [&] {
        f();
        done.set_value();
      });
      done.get_future().wait();
    };
    std::promise<void> gate;
    std::shared_future<void> opened = gate.get_future().share();
    on_loop([&] {
      b.logs().reader()->submit([opened] {
        opened.wait();
        return std::function<void()>([] {});
      });
    });
    // The lookup for 1002 ms (offset 2) is planned and waits behind the held task.
    auto answer = std::async(std::launch::async, [&] {
      protocol::list_offsets_request req;
      req.replica_id = -1;
      req.topics.push_back({"t", {{0, -1, 1002, 1}}});
      return c.call<protocol::list_offsets_response>(req, 5);
    });
    for (int i = 0; i < 5000 && b.logs().reader()->queued() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_EQ(b.logs().reader()->queued(), 1u) << "the lookup never reached the reader thread";
    std::int64_t start = -1;
    on_loop([&] {
      auto moved = b.logs().partition("t", 0)->delete_records(3);
      if (moved) start = *moved;
    });
    ASSERT_EQ(start, 3);
    gate.set_value();
    auto r = answer.get();
    ASSERT_TRUE(r);
    const auto& pr = r->topics[0].partitions[0];
    EXPECT_EQ(pr.error_code, 0);
    EXPECT_EQ(pr.offset, 3);  // offset 2 is gone; 3 (1003 ms) is the first record left at or after 1002 ms
    EXPECT_EQ(pr.timestamp, 1003);
  }
  b.stop();
  loop.join();
  std::filesystem::remove_all(tmpl);
}

// A consumer reading old data in order (what it fetches is no longer in the tail cache,
// so each fetch reads the device): after each read the broker reads the next stretch
// ahead, and the consumer still gets every batch once, in order, whole and valid.
TEST(read_ahead_test, a_consumer_catching_up_reads_everything_in_order) {
  embedded_broker b(embedded_broker_options{{}, "127.0.0.1:0", {{"message.max.bytes", "2000000"}}});
  test::raw_client c(port_of(b));
  ASSERT_TRUE(c.create_topic("old"));
  // 24 batches of 200 records of 1 KB: about 4.8 MB, written before anyone reads (nothing
  // is cached, since the partition had no readers).
  const int batches = 24, per_batch = 200;
  // Timestamps of now: records of 1970 would be past retention.ms (7 days), and the broker
  // checks retention at its first tick, so a slow run (a sanitizer's) lost its segments.
  const std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (int i = 0; i < batches; ++i) {
    record::batch_builder bb;
    std::string value(1000, char('a' + i % 26));
    for (int r = 0; r < per_batch; ++r) bb.add(now_ms, std::string_view("k"), std::string_view(value));
    auto pr = c.call<protocol::produce_response>(produce_of("old", 0, std::move(bb.build().value())), 7);
    ASSERT_TRUE(pr);
    ASSERT_EQ(pr->responses[0].partition_responses[0].error_code, 0);
  }
  std::int64_t next = 0;
  bool saw_read_ahead = false;
  while (next < batches * per_batch) {
    auto f = c.call<protocol::fetch_response>(fetch_of("old", next), 11);
    ASSERT_TRUE(f);
    auto& pd = f->responses[0].partitions[0];
    ASSERT_EQ(pd.error_code, 0) << "at offset " << next;
    ASSERT_TRUE(pd.records && !pd.records->empty()) << "at offset " << next;
    next = test::walk_fetched_batches(*pd.records, next);
    ASSERT_GE(next, 0);
    // The read-ahead runs on the reader thread after the answer; give it a moment.
    for (int i = 0; i < 200 && !saw_read_ahead && next < batches * per_batch; ++i) {
      if (log::read_ahead::held_bytes() > 0) saw_read_ahead = true;
      else std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  EXPECT_EQ(next, batches * per_batch);
  EXPECT_TRUE(saw_read_ahead) << "no fetch was followed by a read-ahead";
}

}  // namespace
}  // namespace eddy::broker

namespace eddy::broker {
namespace {

// Auto-creation makes the files on the admin thread; the first Metadata or Produce for a
// new topic still gets its answer with the topic there (the answer waits for it).
TEST(auto_create_test, first_requests_for_a_new_topic_find_it_created) {
  embedded_broker b(embedded_broker_options{{}, "127.0.0.1:0", {{"num.partitions", "24"}}});
  test::raw_client c(port_of(b));
  protocol::metadata_request m;
  m.topics = std::vector<protocol::metadata_request::metadata_request_topic>{{"fresh"}, {"fresh"}, {"bad/name"}};
  m.allow_auto_topic_creation = true;
  auto md = c.call<protocol::metadata_response>(m, 8);
  ASSERT_TRUE(md);
  ASSERT_EQ(md->topics.size(), 3u);
  EXPECT_EQ(md->topics[0].error_code, 0);
  EXPECT_EQ(md->topics[0].partitions.size(), 24u);
  EXPECT_EQ(md->topics[1].partitions.size(), 24u);
  EXPECT_EQ(md->topics[2].error_code, std::int16_t(error_code::invalid_topic_exception));
  // Produce to a topic nobody asked about: created, then appended, in one round trip;
  // the other topic of the same request waits for it and is appended too.
  protocol::produce_request p = produce_of("made-by-produce", 23, make_batch(3, "v"));
  auto& t2 = p.topic_data.emplace_back();
  t2.name = "fresh";
  t2.partition_data.push_back({5, make_batch(2, "w")});
  auto r = c.call<protocol::produce_response>(p, 7);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->responses.size(), 2u);
  EXPECT_EQ(r->responses[0].partition_responses[0].error_code, 0);
  EXPECT_EQ(r->responses[0].partition_responses[0].base_offset, 0);
  EXPECT_EQ(r->responses[1].partition_responses[0].error_code, 0);
  EXPECT_EQ(r->responses[1].partition_responses[0].base_offset, 0);
  auto f = c.call<protocol::fetch_response>(fetch_of("made-by-produce", 0), 11);
  ASSERT_TRUE(f);
  // fetch_of reads partition 0, which is there and empty.
  EXPECT_EQ(f->responses[0].partitions[0].error_code, 0);
  EXPECT_EQ(f->responses[0].partitions[0].high_watermark, 0);
  // acks=0 to another new topic: no answer, but the record is written.
  ASSERT_TRUE(c.send(produce_of("quiet", 0, make_batch(1, "q"), 0), 7, 999));
  auto again = c.call<protocol::produce_response>(produce_of("quiet", 0, make_batch(1, "q")), 7);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->responses[0].partition_responses[0].base_offset, 1);
}

TEST(admin_limits_test, absurd_partition_counts_are_refused_quickly) {
  embedded_broker b;
  auto s = b.bootstrap_servers();
  test::raw_client c(std::uint16_t(std::stoi(s.substr(s.rfind(':') + 1))));
  protocol::create_topics_request ct;
  ct.topics.push_back({"huge", 2147483647, 1, {}, {}});
  ct.topics.push_back({"bad/name", 1, 1, {}, {}});
  ct.topics.push_back({"rf3", 1, 3, {}, {}});
  ct.timeout_ms = 1000;
  auto r = c.call<protocol::create_topics_response>(ct, 4);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->topics[0].error_code, std::int16_t(protocol::error_code::invalid_partitions));
  EXPECT_EQ(r->topics[1].error_code, std::int16_t(protocol::error_code::invalid_topic_exception));
  EXPECT_EQ(r->topics[2].error_code, std::int16_t(protocol::error_code::invalid_replication_factor));
  ct.topics = {{"ok", 2, 1, {}, {}}};
  ASSERT_EQ(c.call<protocol::create_topics_response>(ct, 4)->topics[0].error_code, 0);
  auto grow = [&](std::vector<std::pair<std::string, std::int32_t>> topics) {
    protocol::create_partitions_request cp;
    for (auto& [name, count] : topics) cp.topics.push_back({name, count, std::nullopt});
    cp.timeout_ms = 1000;
    auto p = c.call<protocol::create_partitions_response>(cp, 1);
    std::vector<std::int16_t> codes;
    if (p)
      for (auto& r : p->results) codes.push_back(r.error_code);
    return codes;
  };
  using codes = std::vector<std::int16_t>;
  const auto invalid_partitions = std::int16_t(protocol::error_code::invalid_partitions);
  const auto invalid_request = std::int16_t(protocol::error_code::invalid_request);
  const auto unknown = std::int16_t(protocol::error_code::unknown_topic_or_partition);
  EXPECT_EQ(grow({{"ok", 2000000000}}), codes{invalid_partitions});
  EXPECT_EQ(grow({{"ok", 1}}), codes{invalid_partitions});
  // A topic named twice in one request is refused, as Kafka does; the others go ahead.
  EXPECT_EQ(grow({{"ok", 3}, {"ok", 4}, {"nope", 2}}), (codes{invalid_request, invalid_request, unknown}));
  EXPECT_EQ(grow({{"ok", 5}}), codes{0});
  EXPECT_EQ(grow({{"ok", 5}}), codes{invalid_partitions});  // it has 5 now
  EXPECT_EQ(grow({{"ok", 6}}), codes{0});
}

}  // namespace
}  // namespace eddy::broker
