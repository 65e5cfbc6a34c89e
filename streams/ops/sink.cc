#include "streams/ops/sink.h"

#include "streams/ops/change_codec.h"
#include "streams/runtime/murmur2.h"

namespace eddy::streams::ops {
namespace {

class sink_node final : public detail::node {
 public:
  sink_node(const detail::sink_spec& spec, std::string topic, runtime::record_sink& sink)
      : spec_(spec), topic_(std::move(topic)), sink_(&sink) {}

  void process(const detail::any_record& r) override {
    std::optional<std::string> key, value;
    if (r.key.has_value()) key = spec_.key_serde.serialize(r.key);
    if (spec_.carries_changes) {
      value = encode_change(std::any_cast<const detail::change&>(r.value), spec_.value_serde);
    } else if (r.value.has_value()) {
      value = spec_.value_serde.serialize(r.value);
    }
    std::string topic = spec_.chooser ? spec_.chooser(r) : topic_;
    int32_t partition = -1;
    if (spec_.partitioner) {
      int32_t n = sink_->partitions_of(topic);
      if (n > 0) partition = spec_.partitioner(r, n);
    }
    sink_->send(topic, partition, key, value, r.timestamp, r.hdrs);
  }

 private:
  const detail::sink_spec& spec_;
  std::string topic_;
  runtime::record_sink* sink_;
};

}  // namespace

std::unique_ptr<detail::node> make_sink(const detail::sink_spec& spec, std::string topic, runtime::record_sink& sink) {
  return std::make_unique<sink_node>(spec, std::move(topic), sink);
}

}  // namespace eddy::streams::ops
