// Wire primitives of the Kafka protocol: a bounds-checked reader and an appending writer
// for the fixed-width big-endian integers, (u)varints, classic and compact strings/bytes,
// array lengths and tagged-field sections. The generated message codecs are built on these.
//
// Decoding never trusts a length: every length is checked against the bytes that remain
// before anything is allocated, so a hostile frame cannot make us allocate more than
// its own size. Malformed input throws decode_error (the edge of the system catches it).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace eddy::protocol {

using bytes = std::vector<std::uint8_t>;

// 16-byte UUID (topic ids); all zero = "no id".
struct uuid {
  std::uint8_t value[16] = {};
  bool operator==(const uuid&) const = default;
};

class decode_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The bytes of a `records` field (Produce, Fetch): owned; a view into the request frame
// they were decoded from (reader::borrow_records), which saves copying a megabyte record
// set on its way from the socket to the log; or pieces gathered from several buffers (a
// fetch answered from the log's cache and reads), which a splicing writer leaves where
// they are (see writer::splice_records). Views and pieces are valid as long as what they
// point into; whoever keeps them longer keeps that alive (see request_context).
class record_bytes {
 public:
  using piece = std::span<const std::uint8_t>;

  record_bytes() = default;
  record_bytes(bytes b) : owned_(std::move(b)) {}  // NOLINT: implicit, like the bytes it replaces
  static record_bytes view(const std::uint8_t* data, std::size_t size) {
    record_bytes r;
    r.view_ = data;
    r.view_size_ = size;
    r.is_view_ = true;
    return r;
  }
  // The concatenation of `pieces`, in order, without copying them.
  static record_bytes gather(std::vector<piece> pieces) {
    record_bytes r;
    r.view_size_ = 0;
    for (const auto& p : pieces) r.view_size_ += p.size();
    r.pieces_ = std::move(pieces);
    r.is_view_ = true;
    if (r.pieces_.size() == 1) {
      r.view_ = r.pieces_.front().data();
      r.pieces_.clear();
    }
    return r;
  }
  // The record set as pieces (one for owned bytes and plain views).
  std::vector<piece> pieces() const {
    if (!pieces_.empty()) return pieces_;
    if (empty()) return {};
    return {piece(data(), size())};
  }

  // Contiguous bytes: for gathered pieces, a copy made on first use.
  const std::uint8_t* data() const {
    if (!pieces_.empty()) return flat().data();
    return is_view_ ? view_ : owned_.data();
  }
  std::size_t size() const { return is_view_ ? view_size_ : owned_.size(); }
  bool empty() const { return size() == 0; }
  const std::uint8_t* begin() const { return data(); }
  const std::uint8_t* end() const { return data() + size(); }
  std::span<const std::uint8_t> span() const { return {data(), size()}; }
  bool is_view() const { return is_view_; }
  // Writable access for the owner of the underlying frame (the broker rewrites a batch's
  // base offset in place before appending it). Not for gathered pieces.
  std::uint8_t* mutable_data() { return is_view_ ? const_cast<std::uint8_t*>(view_) : owned_.data(); }

  bool operator==(const record_bytes& o) const {
    return size() == o.size() && (size() == 0 || std::memcmp(data(), o.data(), size()) == 0);
  }

 private:
  const bytes& flat() const {
    if (flat_.size() != view_size_) {
      flat_.clear();
      flat_.reserve(view_size_);
      for (const auto& p : pieces_) flat_.insert(flat_.end(), p.begin(), p.end());
    }
    return flat_;
  }

  bytes owned_;
  const std::uint8_t* view_ = nullptr;
  std::size_t view_size_ = 0;
  bool is_view_ = false;
  std::vector<piece> pieces_;  // gathered; empty otherwise
  mutable bytes flat_;         // gathered pieces made contiguous by data()
};

// A piece of a frame the writer did not copy (writer::splice_records): `bytes` belong in
// the frame at byte `at` of the written buffer, before whatever was written after them.
struct splice {
  std::size_t at;
  std::span<const std::uint8_t> bytes;
};

class reader {
 public:
  reader(const std::uint8_t* data, std::size_t size) : p_(data), end_(data + size) {}
  explicit reader(std::span<const std::uint8_t> s) : reader(s.data(), s.size()) {}

  std::size_t remaining() const { return std::size_t(end_ - p_); }
  const std::uint8_t* position() const { return p_; }

  std::int8_t read_int8() { need(1); return std::int8_t(*p_++); }
  bool read_bool() { return read_int8() != 0; }
  std::int16_t read_int16() { return std::int16_t(read_be<std::uint16_t>()); }
  std::uint16_t read_uint16() { return read_be<std::uint16_t>(); }
  std::int32_t read_int32() { return std::int32_t(read_be<std::uint32_t>()); }
  std::uint32_t read_uint32() { return read_be<std::uint32_t>(); }
  std::int64_t read_int64() { return std::int64_t(read_be<std::uint64_t>()); }
  double read_float64() {
    std::uint64_t u = read_be<std::uint64_t>();
    double d;
    std::memcpy(&d, &u, 8);
    return d;
  }
  uuid read_uuid() {
    need(16);
    uuid u;
    std::memcpy(u.value, p_, 16);
    p_ += 16;
    return u;
  }

  std::uint32_t read_uvarint() {
    std::uint32_t v = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      std::uint8_t b = std::uint8_t(read_int8());
      v |= std::uint32_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    throw decode_error("uvarint longer than 5 bytes");
  }
  std::uint64_t read_uvarlong() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      std::uint8_t b = std::uint8_t(read_int8());
      v |= std::uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    throw decode_error("uvarlong longer than 10 bytes");
  }
  std::int32_t read_varint() {
    std::uint32_t u = read_uvarint();
    return std::int32_t((u >> 1) ^ -(u & 1));
  }
  std::int64_t read_varlong() {
    std::uint64_t u = read_uvarlong();
    return std::int64_t((u >> 1) ^ -(u & 1));
  }

  // Length of a string/bytes/array: -1 = null. Compact encodings use uvarint(len + 1).
  std::int64_t read_length(bool compact, bool is_int32) {
    if (compact) return std::int64_t(read_uvarint()) - 1;
    return is_int32 ? read_int32() : read_int16();
  }

  std::optional<std::string> read_nullable_string(bool compact) {
    std::int64_t n = read_length(compact, false);
    if (n < 0) return std::nullopt;
    return take_string(n);
  }
  std::string read_string(bool compact) {
    std::int64_t n = read_length(compact, false);
    if (n < 0) throw decode_error("null where a non-null string is required");
    return take_string(n);
  }
  std::optional<bytes> read_nullable_bytes(bool compact) {
    std::int64_t n = read_length(compact, true);
    if (n < 0) return std::nullopt;
    return take_bytes(n);
  }
  bytes read_bytes(bool compact) {
    std::int64_t n = read_length(compact, true);
    if (n < 0) throw decode_error("null where non-null bytes are required");
    return take_bytes(n);
  }
  // `records` fields: views into the input when borrow_records(true), else copies.
  void borrow_records(bool on) { borrow_records_ = on; }
  std::optional<record_bytes> read_nullable_records(bool compact) {
    std::int64_t n = read_length(compact, true);
    if (n < 0) return std::nullopt;
    return take_records(n);
  }
  record_bytes read_records(bool compact) {
    std::int64_t n = read_length(compact, true);
    if (n < 0) throw decode_error("null where non-null records are required");
    return take_records(n);
  }
  // Array element count; -1 = null. Each element takes at least one byte, so a count
  // larger than what remains is rejected before any allocation.
  std::int64_t read_array_length(bool compact) {
    std::int64_t n = read_length(compact, true);
    if (n < -1) throw decode_error("negative array length");
    if (n > std::int64_t(remaining())) throw decode_error("array length exceeds frame");
    return n;
  }

  void skip(std::size_t n) {
    need(n);
    p_ += n;
  }
  // Skips a tagged-field section, calling `on_tag(tag, sub_reader)` for each field.
  template <class F>
  void read_tagged_fields(F&& on_tag) {
    std::uint32_t count = read_uvarint();
    if (count > remaining()) throw decode_error("tagged field count exceeds frame");
    for (std::uint32_t i = 0; i < count; ++i) {
      std::uint32_t tag = read_uvarint();
      std::uint32_t size = read_uvarint();
      need(size);
      reader sub(p_, size);
      on_tag(tag, sub);
      p_ += size;
    }
  }
  void skip_tagged_fields() {
    read_tagged_fields([](std::uint32_t, reader&) {});
  }

 private:
  void need(std::size_t n) const {
    if (remaining() < n) throw decode_error("truncated input");
  }
  template <class T>
  T read_be() {
    need(sizeof(T));
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) v = T(v << 8) | T(p_[i]);
    p_ += sizeof(T);
    return v;
  }
  std::string take_string(std::int64_t n) {
    need(std::size_t(n));
    std::string s(reinterpret_cast<const char*>(p_), std::size_t(n));
    p_ += n;
    return s;
  }
  bytes take_bytes(std::int64_t n) {
    need(std::size_t(n));
    bytes b(p_, p_ + n);
    p_ += n;
    return b;
  }
  record_bytes take_records(std::int64_t n) {
    if (!borrow_records_) return take_bytes(n);
    need(std::size_t(n));
    auto r = record_bytes::view(p_, std::size_t(n));
    p_ += n;
    return r;
  }

  const std::uint8_t* p_;
  const std::uint8_t* end_;
  bool borrow_records_ = false;
};

class writer {
 public:
  explicit writer(bytes& out) : out_(out) {}

  bytes& buffer() { return out_; }
  std::size_t size() const { return out_.size(); }

  void write_int8(std::int8_t v) { out_.push_back(std::uint8_t(v)); }
  void write_bool(bool v) { write_int8(v ? 1 : 0); }
  void write_int16(std::int16_t v) { write_be(std::uint16_t(v)); }
  void write_uint16(std::uint16_t v) { write_be(v); }
  void write_int32(std::int32_t v) { write_be(std::uint32_t(v)); }
  void write_uint32(std::uint32_t v) { write_be(v); }
  void write_int64(std::int64_t v) { write_be(std::uint64_t(v)); }
  void write_float64(double d) {
    std::uint64_t u;
    std::memcpy(&u, &d, 8);
    write_be(u);
  }
  void write_uuid(const uuid& u) { out_.insert(out_.end(), u.value, u.value + 16); }
  void write_uvarint(std::uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(std::uint8_t(v | 0x80));
      v >>= 7;
    }
    out_.push_back(std::uint8_t(v));
  }
  void write_varint(std::int32_t v) { write_uvarint(std::uint32_t((std::uint32_t(v) << 1) ^ std::uint32_t(v >> 31))); }
  void write_varlong(std::int64_t v) { write_uvarint(std::uint64_t((std::uint64_t(v) << 1) ^ std::uint64_t(v >> 63))); }

  void write_length(std::int64_t n, bool compact, bool is_int32) {
    if (compact)
      write_uvarint(std::uint64_t(n + 1));
    else if (is_int32)
      write_int32(std::int32_t(n));
    else
      write_int16(std::int16_t(n));
  }
  void write_string(std::string_view s, bool compact) {
    write_length(std::int64_t(s.size()), compact, false);
    write_raw(s.data(), s.size());
  }
  void write_nullable_string(const std::optional<std::string>& s, bool compact) {
    if (!s) return write_length(-1, compact, false);
    write_string(*s, compact);
  }
  void write_bytes(std::span<const std::uint8_t> b, bool compact) {
    write_length(std::int64_t(b.size()), compact, true);
    write_raw(b.data(), b.size());
  }
  // With splicing on (splice_records), pieces of at least the minimum size are noted in
  // the splice list instead of copied; smaller ones are copied as usual.
  void write_records(const record_bytes& b, bool compact) {
    if (splices_ == nullptr) return write_bytes(b.span(), compact);
    write_length(std::int64_t(b.size()), compact, true);
    for (const auto& p : b.pieces()) {
      if (p.size() >= splice_min_) {
        splices_->push_back({out_.size(), p});
        spliced_ += p.size();
      } else {
        write_raw(p.data(), p.size());
      }
    }
  }
  // Turns splicing on: records pieces of `min_bytes` or more go to `out` (see splice).
  void splice_records(std::vector<splice>* out, std::size_t min_bytes) {
    splices_ = out;
    splice_min_ = min_bytes;
  }
  // Bytes noted as splices so far (they count in the frame's size).
  std::size_t spliced_bytes() const { return spliced_; }
  void write_nullable_bytes(const std::optional<bytes>& b, bool compact) {
    if (!b) return write_length(-1, compact, true);
    write_bytes(*b, compact);
  }
  void write_array_length(std::int64_t n, bool compact) { write_length(n, compact, true); }
  void write_raw(const void* p, std::size_t n) {
    auto* b = static_cast<const std::uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }

 private:
  template <class T>
  void write_be(T v) {
    std::uint8_t buf[sizeof(T)];
    for (std::size_t i = 0; i < sizeof(T); ++i) buf[i] = std::uint8_t(v >> (8 * (sizeof(T) - 1 - i)));
    out_.insert(out_.end(), buf, buf + sizeof(T));
  }
  bytes& out_;
  std::vector<splice>* splices_ = nullptr;
  std::size_t splice_min_ = 0;
  std::size_t spliced_ = 0;
};

}  // namespace eddy::protocol
