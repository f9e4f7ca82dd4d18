#pragma once

#include <string_view>

namespace matchd::obs {

// Names the calling thread for `top -H`, `perf` and core dumps ("matchd-engine",
// "matchd-io0", ...). Linux keeps 15 bytes of a name; longer names are cut there.
// Best effort: a platform without thread names ignores it.
void name_this_thread(std::string_view name) noexcept;

}  // namespace matchd::obs
