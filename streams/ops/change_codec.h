// change_codec: how a table's (old, new) pair crosses a repartition topic.
// Layout: flags (1 byte: bit 0 old present, bit 1 new present) | old length (4 bytes BE) |
// old bytes | new bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "eddy/streams/detail/graph.h"

namespace eddy::streams::ops {

std::string encode_change(const detail::change& c, const detail::any_serde& value_serde);
detail::change decode_change(std::string_view bytes, const detail::any_serde& value_serde);

}  // namespace eddy::streams::ops
