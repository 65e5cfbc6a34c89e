// Golden vectors from a real client: librdkafka produces batches (every codec) into
// its built-in mock cluster; we fetch the raw record batches over a plain socket
// (Fetch v4) and check that our reader validates and decodes them exactly.
#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/record/batch_reader.h"
#include "core/record/compression.h"

namespace eddy::record {
namespace {

using bytes = std::vector<std::uint8_t>;

void put16(bytes& b, std::int16_t v) { b.push_back(std::uint8_t(v >> 8)); b.push_back(std::uint8_t(v)); }
void put32(bytes& b, std::int32_t v) { for (int s = 24; s >= 0; s -= 8) b.push_back(std::uint8_t(v >> s)); }
void put64(bytes& b, std::int64_t v) { put32(b, std::int32_t(v >> 32)); put32(b, std::int32_t(v)); }
void put_str(bytes& b, const std::string& s) { put16(b, std::int16_t(s.size())); b.insert(b.end(), s.begin(), s.end()); }

struct cursor {
  const bytes& b;
  std::size_t pos = 0;
  bool ok = true;
  std::uint64_t take(std::size_t n) {
    if (b.size() - pos < n) { ok = false; return 0; }
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = v << 8 | b[pos++];
    return v;
  }
};

int connect_to(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  std::string host = host_port.substr(0, colon), port = host_port.substr(colon + 1);
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0) return -1;
  int fd = socket(res->ai_family, SOCK_STREAM, 0);
  if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) { close(fd); fd = -1; }
  freeaddrinfo(res);
  return fd;
}

bool write_all(int fd, const bytes& b) {
  std::size_t off = 0;
  while (off < b.size()) {
    ssize_t n = ::write(fd, b.data() + off, b.size() - off);
    if (n <= 0) return false;
    off += std::size_t(n);
  }
  return true;
}

bool read_exact(int fd, std::uint8_t* p, std::size_t n) {
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= std::size_t(r);
  }
  return true;
}

// Fetch v4 of partition 0 from offset 0; returns the raw records bytes.
bytes fetch_records(const std::string& bootstrap, const std::string& topic) {
  bytes req;
  put16(req, 1);  // Fetch
  put16(req, 4);
  put32(req, 1);  // correlation id
  put_str(req, "eddy-golden");
  put32(req, -1);        // replica id
  put32(req, 1000);      // max wait ms
  put32(req, 1);         // min bytes
  put32(req, 1 << 20);   // max bytes
  req.push_back(0);      // read_uncommitted
  put32(req, 1);
  put_str(req, topic);
  put32(req, 1);
  put32(req, 0);         // partition
  put64(req, 0);         // fetch offset
  put32(req, 1 << 20);   // partition max bytes
  bytes frame;
  put32(frame, std::int32_t(req.size()));
  frame.insert(frame.end(), req.begin(), req.end());

  int fd = connect_to(bootstrap);
  if (fd < 0) return {};
  bytes resp;
  std::uint8_t len_buf[4];
  if (write_all(fd, frame) && read_exact(fd, len_buf, 4)) {
    std::uint32_t len = be::load32(len_buf);
    if (len < (64u << 20)) {
      resp.resize(len);
      if (!read_exact(fd, resp.data(), len)) resp.clear();
    }
  }
  close(fd);

  cursor c{resp};
  c.take(4);                          // correlation id
  c.take(4);                          // throttle
  if (c.take(4) != 1) return {};      // topics
  c.pos += c.take(2);                 // topic name
  if (c.take(4) != 1) return {};      // partitions
  c.take(4);                          // partition
  if (c.take(2) != 0) return {};      // error code
  c.take(8);                          // high watermark
  c.take(8);                          // last stable offset
  std::int32_t aborted = std::int32_t(c.take(4));
  if (aborted > 0) c.pos += std::size_t(aborted) * 16;
  std::int32_t n = std::int32_t(c.take(4));
  if (!c.ok || n < 0 || std::size_t(n) > resp.size() - c.pos) return {};
  return bytes(resp.begin() + std::ptrdiff_t(c.pos), resp.begin() + std::ptrdiff_t(c.pos) + n);
}

class librdkafka_golden : public ::testing::TestWithParam<const char*> {};

TEST_P(librdkafka_golden, real_client_batches_validate_and_decode) {
  const std::string codec = GetParam();
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  ASSERT_EQ(rd_kafka_conf_set(conf, "compression.codec", codec.c_str(), err, sizeof err), RD_KAFKA_CONF_OK) << err;
  rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err);
  rd_kafka_conf_set(conf, "linger.ms", "50", err, sizeof err);  // several records per batch
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  ASSERT_NE(rk, nullptr) << err;
  rd_kafka_mock_cluster_t* mock = rd_kafka_mock_cluster_new(rk, 1);
  ASSERT_NE(mock, nullptr);
  std::string bootstrap = rd_kafka_mock_cluster_bootstraps(mock);
  const std::string topic = "golden-" + codec;
  ASSERT_EQ(rd_kafka_mock_topic_create(mock, topic.c_str(), 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);

  // A second client instance produces to the mock cluster (the first only hosts it).
  rd_kafka_conf_t* pconf = rd_kafka_conf_new();
  rd_kafka_conf_set(pconf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(pconf, "compression.codec", codec.c_str(), err, sizeof err);
  rd_kafka_conf_set(pconf, "enable.idempotence", "true", err, sizeof err);
  rd_kafka_conf_set(pconf, "linger.ms", "50", err, sizeof err);
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, err, sizeof err);
  ASSERT_NE(producer, nullptr) << err;

  const int n = 20;
  std::string long_value(2000, 'q');
  for (int i = 0; i < n; ++i) {
    std::string key = "key-" + std::to_string(i);
    std::string value = i == 3 ? long_value : "value-" + std::to_string(i);
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(1);
    rd_kafka_header_add(hdrs, "idx", -1, key.data(), ssize_t(key.size()));
    const void* key_ptr = i == 5 ? nullptr : key.data();
    std::size_t key_len = i == 5 ? 0 : key.size();
    void* value_ptr = i == 7 ? nullptr : value.data();
    std::size_t value_len = i == 7 ? 0 : value.size();
    rd_kafka_resp_err_t e = rd_kafka_producev(
        producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
        RD_KAFKA_V_KEY(key_ptr, key_len),
        RD_KAFKA_V_VALUE(value_ptr, value_len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(1'700'000'000'000 + i),
        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
    ASSERT_EQ(e, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(e);
  }
  ASSERT_EQ(rd_kafka_flush(producer, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);

  bytes raw = fetch_records(bootstrap, topic);
  rd_kafka_destroy(producer);

  ASSERT_FALSE(raw.empty()) << "no records fetched from the mock cluster";
  std::vector<byte_span> batches;
  std::size_t tail = 0;
  ASSERT_TRUE(split_batches(raw, batches, &tail));
  EXPECT_EQ(tail, 0u);
  ASSERT_FALSE(batches.empty());
  int seen = 0;
  std::int32_t expected_seq = 0;
  for (byte_span b : batches) {
    auto r = batch_reader::open(b, {.produced = true});
    ASSERT_TRUE(r) << codec << ": " << r.error().reason;
    if (codec != "none") {
      EXPECT_NE(r->header().codec(), compression::none) << codec;
    }
    EXPECT_GE(r->header().producer_id(), 0);
    EXPECT_EQ(r->header().base_sequence(), expected_seq);
    expected_seq += r->record_count();
    for (const record& rec : *r) {
      std::string key = "key-" + std::to_string(seen);
      EXPECT_EQ(rec.offset, seen);
      EXPECT_EQ(rec.timestamp, 1'700'000'000'000 + seen);
      if (seen == 5) {
        EXPECT_FALSE(rec.key.has_value());
      } else {
        EXPECT_EQ(rec.key, key);
      }
      if (seen == 7) {
        EXPECT_FALSE(rec.value.has_value());
      } else if (seen == 3) {
        EXPECT_EQ(rec.value, long_value);
      } else {
        EXPECT_EQ(rec.value, "value-" + std::to_string(seen));
      }
      ASSERT_EQ(rec.headers.size(), 1);
      record_header h = *rec.headers.begin();
      EXPECT_EQ(h.key, "idx");
      EXPECT_EQ(h.value, key);
      ++seen;
    }
  }
  EXPECT_EQ(seen, n);
  rd_kafka_mock_cluster_destroy(mock);
  rd_kafka_destroy(rk);
}

INSTANTIATE_TEST_SUITE_P(codecs, librdkafka_golden, ::testing::Values("none", "gzip", "snappy", "lz4", "zstd"));

}  // namespace
}  // namespace eddy::record
