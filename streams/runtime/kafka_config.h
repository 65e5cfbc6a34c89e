// kafka_config: builds librdkafka configurations from a streams_config. Keys that are not
// streams settings pass through to every client; "consumer.", "producer." and "admin."
// prefixed keys go to that client only.
#pragma once

#include <map>
#include <string>

#include <librdkafka/rdkafka.h>

#include "eddy/streams/streams_config.h"

namespace eddy::streams::runtime {

enum class client_kind { consumer, producer, admin, restore };

// Returns nullptr and sets error on an invalid setting.
rd_kafka_conf_t* make_conf(const streams_config& cfg, client_kind kind, const std::map<std::string, std::string>& defaults,
                           const std::map<std::string, std::string>& forced,
                           std::string& error);

}  // namespace eddy::streams::runtime
