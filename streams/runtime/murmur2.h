// murmur2: Kafka's default partitioner hash (the Java client's Utils.murmur2 and
// librdkafka's murmur2_random), so Eddy picks the same partition for a key as Kafka clients do.
#pragma once

#include <cstdint>
#include <string_view>

namespace eddy::streams::runtime {

uint32_t murmur2(std::string_view data);
// toPositive(murmur2(key)) % partitions.
int32_t partition_for_key(std::string_view key, int32_t partitions);

}  // namespace eddy::streams::runtime
