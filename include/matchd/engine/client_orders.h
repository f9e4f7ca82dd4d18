#pragma once

#include <matchd/engine/hash_mix.h>
#include <matchd/engine/types.h>

#include <algorithm>
#include <bit>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

namespace matchd::engine {

// Which orders of each client rest in one book, for a mass cancel (order_book::
// cancel_client): per client, a list of (node, created_sequence) appended each time one of
// its orders rests, and never touched when an order fills or is cancelled. An entry is
// stale once its node no longer holds that resting order (the caller's `live` says so):
// the order left the book, or the node holds a later one. So the matching path pays one
// lookup and one append per resting order and nothing per fill or cancel; a list that
// links and unlinks each order costs the engine mix about 15%, its unlinks missing the
// cache on every fill.
//
// Stale entries are dropped when a list reaches twice its live size at the last drop, and
// lists left empty when the map reaches twice its size at the last sweep, so memory stays
// within about twice the live entries and clients, in amortized O(1) per rest.
//
// Not thread-safe: owned by the book.
class client_orders {
 public:
  struct entry {
    std::uint32_t node = 0;
    sequence_number created = 0;
  };

  explicit client_orders(std::uint64_t seed) : lists_(0, hasher{seed}, same_id{}) {}

  template <class Live>
  void add(const client_id& client, entry e, Live&& live) {
    auto found = lists_.find(client);
    if (found == lists_.end()) {
      if (lists_.size() >= sweep_at_) sweep(live);
      found = lists_.try_emplace(client).first;
    }
    list& l = found->second;
    l.entries.push_back(e);
    if (l.entries.size() >= l.compact_at) compact(l, live);
  }

  // Removes `client`'s list; returns its live entries in the order they rested
  // (created_sequence ascending). Recovery restores orders by level, not by time, so the
  // list alone is not in that order.
  template <class Live>
  std::vector<entry> take(const client_id& client, Live&& live) {
    std::vector<entry> taken;
    const auto found = lists_.find(client);
    if (found == lists_.end()) return taken;
    taken = std::move(found->second.entries);
    lists_.erase(found);
    std::erase_if(taken, [&](const entry& e) { return !live(e); });
    std::sort(taken.begin(), taken.end(),
              [](const entry& a, const entry& b) { return a.created < b.created; });
    return taken;
  }

  // f(client, entries) for every list, stale entries included: for the book's invariants.
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [client, l] : lists_) f(client, l.entries);
  }
  // Clients with a list, including emptied ones not yet swept: for tests.
  std::size_t client_count() const noexcept { return lists_.size(); }
  // Entries over all lists, stale ones included: for tests.
  std::size_t entry_count() const noexcept {
    std::size_t n = 0;
    for (const auto& kv : lists_) n += kv.second.entries.size();
    return n;
  }

 private:
  static constexpr std::size_t kMinCompact = 16;
  static constexpr std::size_t kMinSweep = 4096;

  struct list {
    std::vector<entry> entries;
    std::size_t compact_at = kMinCompact;
  };

  // Clients choose their ids, so the hash is seeded per book: nobody can precompute ids
  // that share a probe group. Reads the id's inline array in whole 8-byte words: a
  // fixed_string is zero past its size and its capacity is a multiple of 8, so equal ids
  // read equal words, and a fixed-size memcpy is one load where a variable one is a call.
  static_assert(client_id::capacity % 8 == 0);
  static std::uint64_t word(const client_id& id, std::size_t i) noexcept {
    std::uint64_t w;
    std::memcpy(&w, id.view().data() + i, 8);
    return w;
  }
  struct hasher {
    using is_avalanching = std::true_type;  // fmix64 below: boost need not mix again
    std::uint64_t seed = 0;
    std::size_t operator()(const client_id& id) const noexcept {
      const std::size_t n = id.size();
      std::uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL);
      for (std::size_t i = 0; i < n; i += 8) {
        h = std::rotl(h ^ (word(id, i) * 0xc2b2ae3d27d4eb4fULL), 31) * 0x9e3779b97f4a7c15ULL;
      }
      return static_cast<std::size_t>(fmix64(h));
    }
  };
  // The same words, compared in place: fixed_string's own == is a memcmp call per probe.
  struct same_id {
    bool operator()(const client_id& a, const client_id& b) const noexcept {
      if (a.size() != b.size()) return false;
      for (std::size_t i = 0; i < a.size(); i += 8) {
        if (word(a, i) != word(b, i)) return false;
      }
      return true;
    }
  };

  template <class Live>
  static void compact(list& l, Live& live) {
    std::erase_if(l.entries, [&](const entry& e) { return !live(e); });
    l.compact_at = std::max(kMinCompact, 2 * l.entries.size());
  }

  template <class Live>
  void sweep(Live& live) {
    for (auto& [client, l] : lists_) compact(l, live);
    boost::unordered::erase_if(lists_, [](const auto& kv) { return kv.second.entries.empty(); });
    sweep_at_ = std::max(kMinSweep, 2 * lists_.size());
  }

  boost::unordered_flat_map<client_id, list, hasher, same_id> lists_;
  std::size_t sweep_at_ = kMinSweep;
};

}  // namespace matchd::engine
