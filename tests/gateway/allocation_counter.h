#pragma once

#include <cstddef>

namespace matchd::test {

// How many times operator new has been called in this process so far. The replacement
// operators live alone in allocation_counter.cpp, so that GCC never inlines them next to
// the library's own allocations (-Wmismatched-new-delete).
std::size_t allocations() noexcept;

}  // namespace matchd::test
