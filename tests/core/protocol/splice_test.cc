// Splicing writer: records pieces left out of the encoded buffer and sent from where they
// are must make exactly the frame that copying them would have made.
#include <gtest/gtest.h>

#include <random>

#include "core/protocol/header.h"
#include "core/protocol/messages/fetch.h"

namespace eddy::protocol {
namespace {

// The frame a gather write sends: `out` with each splice's bytes inserted at its place.
bytes assemble(const bytes& out, const std::vector<splice>& splices) {
  bytes frame;
  std::size_t from = 0;
  for (const auto& s : splices) {
    EXPECT_GE(s.at, from);
    frame.insert(frame.end(), out.begin() + std::ptrdiff_t(from), out.begin() + std::ptrdiff_t(s.at));
    frame.insert(frame.end(), s.bytes.begin(), s.bytes.end());
    from = s.at;
  }
  frame.insert(frame.end(), out.begin() + std::ptrdiff_t(from), out.end());
  return frame;
}

TEST(splice, a_spliced_fetch_response_is_the_frame_a_copied_one_is) {
  std::mt19937 rng(11);
  std::vector<bytes> buffers;  // what the pieces point into
  for (int i = 0; i < 30; ++i) {
    bytes b(std::size_t(rng() % 40000));
    for (auto& c : b) c = std::uint8_t(rng());
    buffers.push_back(std::move(b));
  }
  for (std::int16_t version : {std::int16_t(4), std::int16_t(11), std::int16_t(12)}) {
    fetch_response resp;
    std::size_t next = 0;
    for (int t = 0; t < 2; ++t) {
      auto& tr = resp.responses.emplace_back();
      tr.topic = "topic-" + std::to_string(t);
      for (int p = 0; p < 4; ++p) {
        auto& pr = tr.partitions.emplace_back();
        pr.partition_index = p;
        pr.high_watermark = 100 * p;
        std::vector<record_bytes::piece> pieces;
        int n = int(rng() % 4);  // 0..3 pieces: empty, one (a plain view), several
        for (int k = 0; k < n; ++k, next = (next + 1) % buffers.size())
          pieces.emplace_back(buffers[next].data(), buffers[next].size());
        pr.records = record_bytes::gather(std::move(pieces));
      }
    }
    bytes copied;
    encode_response_frame(copied, std::int16_t(api_key::fetch), version, 77, resp);
    bytes out;
    std::vector<splice> splices;
    encode_response_frame(out, std::int16_t(api_key::fetch), version, 77, resp, &splices, 8192);
    EXPECT_FALSE(splices.empty());
    for (const auto& s : splices) EXPECT_GE(s.bytes.size(), 8192u);
    EXPECT_LT(out.size(), copied.size());
    EXPECT_EQ(assemble(out, splices), copied) << "version " << version;
  }
}

TEST(splice, gathered_records_read_as_their_concatenation) {
  bytes a{1, 2, 3}, b{4, 5};
  auto r = record_bytes::gather({{a.data(), a.size()}, {b.data(), b.size()}});
  EXPECT_EQ(r.size(), 5u);
  EXPECT_EQ(r, record_bytes(bytes{1, 2, 3, 4, 5}));
  EXPECT_EQ(r.pieces().size(), 2u);
  auto one = record_bytes::gather({{a.data(), a.size()}});
  EXPECT_EQ(one.data(), a.data()) << "one piece is a plain view";
  EXPECT_TRUE(record_bytes::gather({}).empty());
}

}  // namespace
}  // namespace eddy::protocol
