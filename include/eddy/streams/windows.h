// windows: time windows (tumbling and hopping), session windows, and windowed keys.
//
// A window is [start, end) in milliseconds of record time. A window is "closed" once stream
// time >= end + grace: later records for it are dropped, and emit-final results (suppress)
// are released. windowed_serde<K> writes key bytes followed by the 8-byte big-endian window
// start (time windows) or end and start (session windows), like Kafka's windowed serdes.
//
// Thread-safety: immutable values.
//
// Example:
//   auto per_minute = time_windows::of_size_with_grace(std::chrono::minutes(1), std::chrono::seconds(10));
//   auto hopping = time_windows::of_size_and_no_grace(std::chrono::minutes(5)).advance_by(std::chrono::minutes(1));
//   auto sessions = session_windows::with_inactivity_gap(std::chrono::minutes(30));
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <tuple>

#include "eddy/streams/serdes.h"

namespace eddy::streams {

struct window {
  int64_t start = 0;
  int64_t end = 0;
  bool operator==(const window&) const = default;
  auto operator<=>(const window&) const = default;
};

template <class K>
struct windowed {
  K key{};
  window win;
  bool operator==(const windowed&) const = default;
  bool operator<(const windowed& o) const { return std::tie(key, win) < std::tie(o.key, o.win); }
};

struct time_windows {
  int64_t size_ms = 0;
  int64_t advance_ms = 0;
  int64_t grace_ms = 0;

  static time_windows of_size_with_grace(std::chrono::milliseconds size, std::chrono::milliseconds grace) {
    return {size.count(), size.count(), grace.count()};
  }
  static time_windows of_size_and_no_grace(std::chrono::milliseconds size) { return {size.count(), size.count(), 0}; }
  // Hopping windows: a new window every `advance` (advance < size makes them overlap).
  time_windows advance_by(std::chrono::milliseconds advance) const { return {size_ms, advance.count(), grace_ms}; }
};

struct session_windows {
  int64_t gap_ms = 0;
  int64_t grace_ms = 0;
  static session_windows with_inactivity_gap(std::chrono::milliseconds gap) { return {gap.count(), 0}; }
  static session_windows with_inactivity_gap_and_grace(std::chrono::milliseconds gap, std::chrono::milliseconds grace) {
    return {gap.count(), grace.count()};
  }
};

// Windows that a stream-stream join matches across: |left.ts - right.ts| <= before/after.
struct join_windows {
  int64_t before_ms = 0;
  int64_t after_ms = 0;
  int64_t grace_ms = 0;
  static join_windows of_time_difference_with_grace(std::chrono::milliseconds diff, std::chrono::milliseconds grace) {
    return {diff.count(), diff.count(), grace.count()};
  }
  static join_windows of_time_difference_and_no_grace(std::chrono::milliseconds diff) {
    return {diff.count(), diff.count(), 0};
  }
};

// Time-windowed keys: key bytes | start (8 bytes BE). The end is start + window size.
template <class K>
serde<windowed<K>> time_windowed_serde(serde<K> inner, int64_t window_size_ms) {
  return {[inner](const windowed<K>& w) { return inner.serialize(w.key) + serdes::int64().serialize(w.win.start); },
          [inner, window_size_ms](std::string_view b) {
            if (b.size() < 8) throw serde_error("windowed key shorter than 8 bytes");
            int64_t start = serdes::int64().deserialize(b.substr(b.size() - 8));
            return windowed<K>{inner.deserialize(b.substr(0, b.size() - 8)), {start, start + window_size_ms}};
          }};
}

// Session-windowed keys: key bytes | end (8) | start (8).
template <class K>
serde<windowed<K>> session_windowed_serde(serde<K> inner) {
  return {[inner](const windowed<K>& w) {
            return inner.serialize(w.key) + serdes::int64().serialize(w.win.end) + serdes::int64().serialize(w.win.start);
          },
          [inner](std::string_view b) {
            if (b.size() < 16) throw serde_error("session-windowed key shorter than 16 bytes");
            return windowed<K>{inner.deserialize(b.substr(0, b.size() - 16)),
                               {serdes::int64().deserialize(b.substr(b.size() - 8)),
                                serdes::int64().deserialize(b.substr(b.size() - 16, 8))}};
          }};
}

}  // namespace eddy::streams
