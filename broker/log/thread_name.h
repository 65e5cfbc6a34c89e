// Names the calling thread (at most 15 characters) so `top -H`, perf and the benchmark's
// per-thread CPU accounting can tell the broker's threads apart: eddy-loop (event loop of
// an embedded broker), eddy-writer, eddy-flusher, eddy-cleaner.
#pragma once

#include <pthread.h>

namespace eddy::broker::log {

inline void name_this_thread(const char* name) { pthread_setname_np(pthread_self(), name); }

}  // namespace eddy::broker::log
