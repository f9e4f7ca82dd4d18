#pragma once

#include <matchd/engine/hash_mix.h>
#include <matchd/engine/types.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace matchd::engine {

// Hash and equality for the ids clients choose (client_id, order_id), for the hash maps
// keyed by them. Clients choose their ids, so the hash is seeded per map: nobody can
// precompute ids that share a probe group. Both read the id's inline array in whole 8-byte
// words: a fixed_string is zero past its size and its capacity is a multiple of 8, so equal
// ids read equal words, and a fixed-size memcpy is one load where a variable one (and
// fixed_string's own ==, a memcmp) is a call.
namespace id_words {

template <std::size_t Capacity>
std::uint64_t word(const fixed_string<Capacity>& id, std::size_t i) noexcept {
  static_assert(Capacity % 8 == 0);
  std::uint64_t w;
  std::memcpy(&w, id.view().data() + i, 8);
  return w;
}

}  // namespace id_words

struct seeded_id_hash {
  using is_avalanching = std::true_type;  // fmix64 below: boost's maps need not mix again
  std::uint64_t seed = 0;

  template <std::size_t Capacity>
  std::size_t operator()(const fixed_string<Capacity>& id) const noexcept {
    const std::size_t n = id.size();
    std::uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL);
    for (std::size_t i = 0; i < n; i += 8) {
      h = std::rotl(h ^ (id_words::word(id, i) * 0xc2b2ae3d27d4eb4fULL), 31) *
          0x9e3779b97f4a7c15ULL;
    }
    return static_cast<std::size_t>(fmix64(h));
  }
};

struct same_id_words {
  template <std::size_t Capacity>
  bool operator()(const fixed_string<Capacity>& a, const fixed_string<Capacity>& b) const noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); i += 8) {
      if (id_words::word(a, i) != id_words::word(b, i)) return false;
    }
    return true;
  }
};

}  // namespace matchd::engine
