// sink: serialises records and hands them to the task's record sink (the end of a
// sub-topology). Tables' repartition topics carry (old, new) pairs via change_codec.
#pragma once

#include <memory>
#include <string>

#include "eddy/streams/detail/graph.h"
#include "streams/runtime/task.h"

namespace eddy::streams::ops {

std::unique_ptr<detail::node> make_sink(const detail::sink_spec& spec, std::string topic, runtime::record_sink& sink);

}  // namespace eddy::streams::ops
