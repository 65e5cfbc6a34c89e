// Codec glue over zlib, snappy, lz4frame and zstd. Every decoder writes into `out` in
// growing steps and never lets it grow past (initial size + max_output), so a small
// hostile payload cannot make us allocate much more than the caller allowed.
#include "core/record/compression.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <limits>

namespace eddy::record {
namespace {

using protocol::error_code;

constexpr std::size_t min_step = 4096;

status too_large() { return fail(error_code::message_too_large, "decompressed size exceeds the limit"); }

// Grows `out` so that there is free room after `used` (bytes already produced beyond
// `start`), never exceeding start + max_output + 1 in total. The extra byte lets a
// decoder prove it has more to write than allowed. Returns the free room.
std::size_t grow(std::vector<std::uint8_t>& out, std::size_t start, std::size_t used,
                 std::size_t max_output, std::size_t hint) {
  std::size_t cap = max_output == std::numeric_limits<std::size_t>::max() ? max_output : max_output + 1;
  std::size_t want = std::max<std::size_t>({min_step, used, hint});  // roughly doubles
  std::size_t room = std::min(want, cap - used);
  out.resize(start + used + room);
  return room;
}

// ---- gzip ------------------------------------------------------------------------

status gzip_compress(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out) {
  z_stream zs{};
  // 15 window bits + 16 selects the gzip wrapper, as Kafka's GZIPOutputStream writes.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return fail(error_code::unknown_server_error, "gzip: deflateInit2 failed");
  std::size_t start = out.size();
  // deflateBound does not count the gzip header/trailer; add room for them.
  std::size_t bound = deflateBound(&zs, uLong(in.size())) + 32;
  out.resize(start + bound);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = uInt(in.size());
  zs.next_out = out.data() + start;
  zs.avail_out = uInt(bound);
  int rc = deflate(&zs, Z_FINISH);
  std::size_t produced = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    out.resize(start);
    return fail(error_code::unknown_server_error, "gzip: deflate did not finish");
  }
  out.resize(start + produced);
  return {};
}

status gzip_decompress(std::span<const std::uint8_t> in, std::size_t max_output,
                       std::vector<std::uint8_t>& out) {
  z_stream zs{};
  // 32 + 15: auto-detect gzip or zlib header.
  if (inflateInit2(&zs, 32 + 15) != Z_OK) return fail(error_code::unknown_server_error, "gzip: inflateInit2 failed");
  std::size_t start = out.size(), used = 0;
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = uInt(in.size());
  status st;
  bool saw_member = false;
  for (;;) {
    std::size_t room = grow(out, start, used, max_output, in.size() * 4);
    if (room == 0) { st = too_large(); break; }
    room = std::min<std::size_t>(room, std::numeric_limits<uInt>::max());
    zs.next_out = out.data() + start + used;
    zs.avail_out = uInt(room);
    int rc = inflate(&zs, Z_NO_FLUSH);
    used += room - zs.avail_out;
    if (used > max_output) { st = too_large(); break; }
    if (rc == Z_STREAM_END) {
      saw_member = true;
      // Java's GZIPInputStream reads concatenated members; so do we.
      if (zs.avail_in == 0) break;
      if (inflateReset(&zs) != Z_OK) { st = fail(error_code::corrupt_message, "gzip: reset failed"); break; }
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs.avail_out != 0) {
      // No progress possible with room left: input ended mid-stream.
      st = fail(error_code::corrupt_message, "gzip: truncated stream");
      break;
    }
    if (rc == Z_BUF_ERROR) continue;
    st = fail(error_code::corrupt_message, "gzip: malformed stream");
    break;
  }
  inflateEnd(&zs);
  if (st.ok() && !saw_member) st = fail(error_code::corrupt_message, "gzip: empty input");
  out.resize(st.ok() ? start + used : start);
  return st;
}

// ---- snappy ----------------------------------------------------------------------

constexpr std::uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr std::size_t xerial_header_size = 16;  // magic + version + compatible version

status snappy_raw_append(const std::uint8_t* p, std::size_t n, std::size_t max_total, std::size_t& used,
                         std::vector<std::uint8_t>& out, std::size_t start) {
  std::size_t len = 0;
  if (!snappy::GetUncompressedLength(reinterpret_cast<const char*>(p), n, &len))
    return fail(error_code::corrupt_message, "snappy: malformed length preamble");
  if (len > max_total - used) return too_large();
  out.resize(start + used + len);
  if (!snappy::RawUncompress(reinterpret_cast<const char*>(p), n, reinterpret_cast<char*>(out.data() + start + used)))
    return fail(error_code::corrupt_message, "snappy: malformed block");
  used += len;
  return {};
}

status snappy_decompress(std::span<const std::uint8_t> in, std::size_t max_output,
                         std::vector<std::uint8_t>& out) {
  std::size_t start = out.size(), used = 0;
  status st;
  if (in.size() >= sizeof xerial_magic && std::memcmp(in.data(), xerial_magic, sizeof xerial_magic) == 0) {
    if (in.size() < xerial_header_size) {
      st = fail(error_code::corrupt_message, "snappy: truncated xerial header");
    } else {
      // The two version ints (1, 1 in every writer) are not checked: Java ignores them too.
      std::size_t pos = xerial_header_size;
      while (st.ok() && pos < in.size()) {
        if (in.size() - pos < 4) { st = fail(error_code::corrupt_message, "snappy: truncated xerial chunk length"); break; }
        std::uint32_t chunk = be::load32(in.data() + pos);
        pos += 4;
        if (chunk > in.size() - pos) { st = fail(error_code::corrupt_message, "snappy: xerial chunk length exceeds input"); break; }
        st = snappy_raw_append(in.data() + pos, chunk, max_output, used, out, start);
        pos += chunk;
      }
    }
  } else {
    st = snappy_raw_append(in.data(), in.size(), max_output, used, out, start);
  }
  out.resize(st.ok() ? start + used : start);
  return st;
}

status snappy_compress(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out) {
  std::size_t start = out.size();
  out.resize(start + snappy::MaxCompressedLength(in.size()));
  std::size_t n = 0;
  snappy::RawCompress(reinterpret_cast<const char*>(in.data()), in.size(), reinterpret_cast<char*>(out.data() + start), &n);
  out.resize(start + n);
  return {};
}

// ---- lz4 -------------------------------------------------------------------------

status lz4_compress(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out) {
  LZ4F_preferences_t prefs{};
  // Kafka's Java writer uses 64 KB independent blocks; any reader accepts them.
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentSize = in.size();
  std::size_t start = out.size();
  std::size_t bound = LZ4F_compressFrameBound(in.size(), &prefs);
  out.resize(start + bound);
  std::size_t n = LZ4F_compressFrame(out.data() + start, bound, in.data(), in.size(), &prefs);
  if (LZ4F_isError(n)) {
    out.resize(start);
    return fail(error_code::unknown_server_error, "lz4: compression failed");
  }
  out.resize(start + n);
  return {};
}

status lz4_decompress(std::span<const std::uint8_t> in, std::size_t max_output,
                      std::vector<std::uint8_t>& out) {
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION)))
    return fail(error_code::unknown_server_error, "lz4: cannot create context");
  std::size_t start = out.size(), used = 0, pos = 0;
  std::size_t pending = 1;  // LZ4F hint: 0 once a frame is complete
  status st;
  while (st.ok()) {
    if (pos == in.size() && pending == 0) break;
    std::size_t room = grow(out, start, used, max_output, in.size() * 4);
    if (room == 0) { st = too_large(); break; }
    std::size_t dst_size = room, src_size = in.size() - pos;
    std::size_t hint = LZ4F_decompress(ctx, out.data() + start + used, &dst_size, in.data() + pos, &src_size, nullptr);
    if (LZ4F_isError(hint)) { st = fail(error_code::corrupt_message, "lz4: malformed frame"); break; }
    used += dst_size;
    pos += src_size;
    pending = hint;
    if (used > max_output) { st = too_large(); break; }
    if (pos == in.size() && pending != 0 && dst_size < room) {
      // All input consumed, output not full, frame still incomplete: truncated.
      st = fail(error_code::corrupt_message, "lz4: truncated frame");
    }
  }
  LZ4F_freeDecompressionContext(ctx);
  if (st.ok() && in.empty()) st = fail(error_code::corrupt_message, "lz4: empty input");
  out.resize(st.ok() ? start + used : start);
  return st;
}

// ---- zstd ------------------------------------------------------------------------

status zstd_compress(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out) {
  std::size_t start = out.size();
  std::size_t bound = ZSTD_compressBound(in.size());
  out.resize(start + bound);
  std::size_t n = ZSTD_compress(out.data() + start, bound, in.data(), in.size(), ZSTD_CLEVEL_DEFAULT);
  if (ZSTD_isError(n)) {
    out.resize(start);
    return fail(error_code::unknown_server_error, "zstd: compression failed");
  }
  out.resize(start + n);
  return {};
}

status zstd_decompress(std::span<const std::uint8_t> in, std::size_t max_output,
                       std::vector<std::uint8_t>& out) {
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  if (!ctx) return fail(error_code::unknown_server_error, "zstd: cannot create context");
  std::size_t start = out.size(), used = 0;
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  std::size_t pending = 1;  // 0 once a frame is complete and flushed
  status st;
  while (st.ok()) {
    if (src.pos == src.size && pending == 0) break;
    std::size_t room = grow(out, start, used, max_output, in.size() * 4);
    if (room == 0) { st = too_large(); break; }
    ZSTD_outBuffer dst{out.data() + start + used, room, 0};
    std::size_t rc = ZSTD_decompressStream(ctx, &dst, &src);
    if (ZSTD_isError(rc)) { st = fail(error_code::corrupt_message, "zstd: malformed frame"); break; }
    used += dst.pos;
    pending = rc;
    if (used > max_output) { st = too_large(); break; }
    // Input exhausted mid-frame with output room to spare: nothing more can come.
    if (pending != 0 && src.pos == src.size && dst.pos < room)
      st = fail(error_code::corrupt_message, "zstd: truncated frame");
  }
  ZSTD_freeDCtx(ctx);
  if (st.ok() && in.empty()) st = fail(error_code::corrupt_message, "zstd: empty input");
  out.resize(st.ok() ? start + used : start);
  return st;
}

}  // namespace

status compress(compression codec, std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out) {
  switch (codec) {
    case compression::none: out.insert(out.end(), in.begin(), in.end()); return {};
    case compression::gzip: return gzip_compress(in, out);
    case compression::snappy: return snappy_compress(in, out);
    case compression::lz4: return lz4_compress(in, out);
    case compression::zstd: return zstd_compress(in, out);
  }
  return fail(error_code::unsupported_compression_type, "unknown compression codec");
}

status decompress(compression codec, std::span<const std::uint8_t> in, std::size_t max_output,
                  std::vector<std::uint8_t>& out) {
  switch (codec) {
    case compression::none:
      if (in.size() > max_output) return too_large();
      out.insert(out.end(), in.begin(), in.end());
      return {};
    case compression::gzip: return gzip_decompress(in, max_output, out);
    case compression::snappy: return snappy_decompress(in, max_output, out);
    case compression::lz4: return lz4_decompress(in, max_output, out);
    case compression::zstd: return zstd_decompress(in, max_output, out);
  }
  return fail(error_code::unsupported_compression_type, "unknown compression codec");
}

const char* compression_name(compression codec) {
  switch (codec) {
    case compression::none: return "none";
    case compression::gzip: return "gzip";
    case compression::snappy: return "snappy";
    case compression::lz4: return "lz4";
    case compression::zstd: return "zstd";
  }
  return "unknown";
}

}  // namespace eddy::record
