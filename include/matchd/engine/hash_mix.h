#pragma once

#include <cstdint>

namespace matchd::engine {

// MurmurHash3's 64-bit finalizer: every input bit affects every output bit. Finishes the
// engine's keyed id hash and the request fingerprints (bus/idempotency.h).
constexpr std::uint64_t fmix64(std::uint64_t k) noexcept {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

}  // namespace matchd::engine
