// table_to_stream: the table's updates as a stream of (key, new value); deletions become
// records with a null value.
#include "eddy/streams/detail/ops.h"

namespace eddy::streams::detail::ops {
namespace {
struct table_to_stream_node final : node {
  void process(const any_record& r) override {
    ctx_->forward({r.key, std::any_cast<const change&>(r.value).new_value, r.timestamp, r.hdrs});
  }
};
}  // namespace

node_factory table_to_stream() {
  return [] { return std::make_unique<table_to_stream_node>(); };
}
}  // namespace eddy::streams::detail::ops
