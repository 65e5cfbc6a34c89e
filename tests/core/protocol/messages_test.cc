// Round trip of every described API, request and response, in every version:
// fill every field present in that version, encode, decode, compare, re-encode, compare bytes.
#include <gtest/gtest.h>

#include "core/protocol/messages/all.h"

namespace eddy::protocol {
namespace {

template <class M>
void round_trip_all_versions(std::uint64_t seeds) {
  for (std::int16_t v = M::min_version; v <= M::max_version; ++v) {
    for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
      M original;
      fill_sample(original, v, seed * 7919 + std::uint64_t(v));
      bytes first;
      writer w(first);
      original.encode(w, v);
      M decoded;
      reader r(first.data(), first.size());
      decoded.decode(r, v);
      EXPECT_EQ(r.remaining(), 0u) << "version " << v;
      EXPECT_TRUE(decoded == original) << "version " << v << " seed " << seed;
      bytes second;
      writer w2(second);
      decoded.encode(w2, v);
      EXPECT_EQ(first, second) << "version " << v;
      // Every strict prefix must fail to decode cleanly (never crash, never succeed with
      // trailing garbage mistaken for data). Some prefixes can legitimately decode when the
      // message ends with empty optional parts, so only require no crash and no overread.
      for (std::size_t cut = 0; cut < first.size(); cut += 1 + first.size() / 16) {
        M partial;
        reader pr(first.data(), cut);
        try {
          partial.decode(pr, v);
        } catch (const decode_error&) {
        }
      }
    }
  }
}

#define EDDY_ROUND_TRIP_TEST(api)                                   \
  TEST(messages_test, api##_round_trip) {                           \
    round_trip_all_versions<api##_request>(8);                      \
    round_trip_all_versions<api##_response>(8);                     \
  }
EDDY_PROTOCOL_FOR_EACH_API(EDDY_ROUND_TRIP_TEST)
#undef EDDY_ROUND_TRIP_TEST

TEST(messages_test, traits_cover_every_api) {
  for (const auto& a : all_apis()) {
    EXPECT_LE(a.min_version, a.max_version) << a.name;
    EXPECT_EQ(find_api(std::int16_t(a.key)), &a);
  }
  EXPECT_EQ(find_api(9999), nullptr);
}

}  // namespace
}  // namespace eddy::protocol

namespace eddy::protocol {
namespace {

// Produce decoded with borrow_records: each record set is a view into the frame (no copy)
// with the same contents as a copying decode, and it re-encodes to the same bytes.
TEST(messages_test, borrowed_records_are_views_into_the_frame) {
  for (std::int16_t v = produce_request::min_version; v <= produce_request::max_version; ++v) {
    produce_request original;
    fill_sample(original, v, 42 + std::uint64_t(v));
    auto& t = original.topic_data.emplace_back();
    t.name = "t";
    auto& p = t.partition_data.emplace_back();
    p.index = 0;
    p.records = bytes{1, 2, 3, 4, 5};
    bytes frame;
    writer w(frame);
    original.encode(w, v);
    produce_request copied, borrowed;
    reader rc(frame.data(), frame.size());
    copied.decode(rc, v);
    reader rb(frame.data(), frame.size());
    rb.borrow_records(true);
    borrowed.decode(rb, v);
    EXPECT_TRUE(copied == borrowed) << "version " << v;
    const auto& rec = borrowed.topic_data.back().partition_data.back().records;
    ASSERT_TRUE(rec.has_value());
    EXPECT_TRUE(rec->is_view());
    EXPECT_GE(rec->data(), frame.data());
    EXPECT_LE(rec->data() + rec->size(), frame.data() + frame.size());
    EXPECT_FALSE(copied.topic_data.back().partition_data.back().records->is_view());
    bytes again;
    writer w2(again);
    borrowed.encode(w2, v);
    EXPECT_EQ(again, frame) << "version " << v;
  }
}

}  // namespace
}  // namespace eddy::protocol
