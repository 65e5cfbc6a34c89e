// restore: brings a task's stores up to date from their changelog topics before the task
// processes anything. Each store replays only what lies past its stored changelog offset
// (all of it for in-memory stores and fresh RocksDB stores), reading read_committed under
// exactly-once so aborted writes are skipped, until the end of the partition.
#pragma once

#include <atomic>
#include <string>

#include <librdkafka/rdkafka.h>

#include "streams/runtime/task.h"

namespace eddy::streams::runtime {

// Returns the number of changelog records applied; sets error on failure.
int64_t restore_task(rd_kafka_t* restore_consumer, task& t, const std::atomic<bool>& stop, std::string& error);

}  // namespace eddy::streams::runtime
