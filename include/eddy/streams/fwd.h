// fwd: forward declarations of the DSL's class templates (they refer to each other).
#pragma once

namespace eddy::streams {
template <class K, class V> class kstream;
template <class K, class V> class ktable;
template <class K, class V> class kgrouped_stream;
template <class K, class V> class kgrouped_table;
template <class K, class V> class time_windowed_kstream;
template <class K, class V> class session_windowed_kstream;
template <class K, class V> class branched_kstream;
}  // namespace eddy::streams
