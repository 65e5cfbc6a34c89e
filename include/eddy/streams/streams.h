// streams: the one include for applications: DSL, processor API, stores, config, app.
#pragma once

#include "eddy/streams/stream_builder.h"
#include "eddy/streams/streams_app.h"
#include "eddy/streams/streams_config.h"
