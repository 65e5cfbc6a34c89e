# Generates the message codecs from core/protocol/schemas/*.api at build time into the
# build directory (never committed), and builds eddy_core_protocol from them plus the
# hand-written wire primitives, headers and error codes in core/protocol.
set(EDDY_SCHEMA_DIR ${PROJECT_SOURCE_DIR}/core/protocol/schemas)
set(EDDY_GEN_DIR ${PROJECT_BINARY_DIR}/generated)
file(GLOB eddy_schemas CONFIGURE_DEPENDS ${EDDY_SCHEMA_DIR}/*.api)
set(eddy_gen_srcs ${EDDY_GEN_DIR}/core/protocol/api_keys.cc)
set(eddy_gen_hdrs ${EDDY_GEN_DIR}/core/protocol/api_keys.h ${EDDY_GEN_DIR}/core/protocol/messages/all.h)
set(eddy_gen_samples)
foreach(s ${eddy_schemas})
  get_filename_component(n ${s} NAME_WE)
  list(APPEND eddy_gen_srcs ${EDDY_GEN_DIR}/core/protocol/messages/${n}.cc)
  list(APPEND eddy_gen_hdrs ${EDDY_GEN_DIR}/core/protocol/messages/${n}.h)
  list(APPEND eddy_gen_samples ${EDDY_GEN_DIR}/core/protocol/messages/${n}_samples.cc)
endforeach()
add_custom_command(
  OUTPUT ${eddy_gen_srcs} ${eddy_gen_hdrs} ${eddy_gen_samples}
  COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/core/protocol/codegen/generate.py ${EDDY_SCHEMA_DIR} ${EDDY_GEN_DIR}
  DEPENDS ${PROJECT_SOURCE_DIR}/core/protocol/codegen/generate.py ${eddy_schemas}
  COMMENT "Generating Kafka message codecs"
  VERBATIM)
file(GLOB protocol_srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/core/protocol/*.cc)
add_library(eddy_core_protocol STATIC ${protocol_srcs} ${eddy_gen_srcs} ${eddy_gen_hdrs})
target_include_directories(eddy_core_protocol PUBLIC ${EDDY_GEN_DIR})
target_link_libraries(eddy_core_protocol PUBLIC fmt::fmt)
# Sample-filling code for the round-trip tests only.
add_library(eddy_core_protocol_samples STATIC ${eddy_gen_samples})
target_link_libraries(eddy_core_protocol_samples PUBLIC eddy_core_protocol)
