// topology: the immutable result of stream_builder::build(), run by a streams_app or a
// test_driver. describe() lists sub-topologies (split at repartition topics), their source
// topics, processors, sinks and stores, like Kafka's TopologyDescription.
//
// Thread-safety: immutable; may be shared by several apps or drivers.
//
// Example:
//   topology t = builder.build();
//   std::cout << t.describe("my-app");
#pragma once

#include <memory>
#include <string>

#include "eddy/streams/detail/graph.h"

namespace eddy::streams {

class topology {
 public:
  explicit topology(detail::graph_ptr g) : g_(std::move(g)) {}
  // Human-readable description; internal topic names use application_id as prefix.
  std::string describe(const std::string& application_id = "<application.id>") const;
  const detail::graph_ptr& graph() const { return g_; }

 private:
  detail::graph_ptr g_;
};

}  // namespace eddy::streams
