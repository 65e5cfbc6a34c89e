// internal_topics: at start-up, reads the cluster's topic metadata, decides partition counts
// (co-partitioning checked), and creates the missing repartition and changelog topics.
#pragma once

#include <string>

#include "eddy/streams/streams_config.h"
#include "streams/runtime/stream_thread.h"

namespace eddy::streams::runtime {

// Fills ctx.partitions and ctx.topo's partition counts; returns an error message or empty.
std::string prepare_topics(app_context& ctx);

// The id of this process's state (persisted in <state.dir>/<application.id>/process.id so a
// restarted instance reuses its transactional ids and fences its previous incarnation).
std::string load_or_create_process_id(const streams_config& cfg, std::string& error);

}  // namespace eddy::streams::runtime
