#pragma once

#include <matchd/engine/id_hash.h>
#include <matchd/engine/types.h>

#include <algorithm>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <vector>

namespace matchd::engine {

// Which orders of each client rest in one book, for a mass cancel (order_book::
// cancel_client). When an order rests, the book appends (node, created_sequence) to one
// pending log: no hash, no per-client work. An entry is stale once its node no longer holds
// that resting order (the caller's `client_of` returns null): the order left the book, or
// the node holds a later one. Nothing is written when an order fills or is cancelled.
//
// The log is sorted into per-client lists only when it reaches four times the book's live
// orders at the last sort (or a mass cancel needs it): most resting orders have left by
// then (quotes near the touch are replaced within moments), so only the survivors pay the
// client's hash lookup, once. Measured on the engine mix, in instructions: a list that
// links and unlinks each order cost about 15%, its unlinks missing the cache on every fill;
// a lookup and append per rest, 10%; this log, 2%.
//
// Stale entries are dropped from a list when it reaches twice its live size at the last
// drop, and lists left empty when the map reaches twice its size at the last sweep, so
// memory stays within a small multiple of the live entries and clients, in amortized O(1)
// per rest.
//
// Not thread-safe: owned by the book.
class client_orders {
 public:
  struct entry {
    std::uint32_t node = 0;
    sequence_number created = 0;
  };

  explicit client_orders(std::uint64_t seed) : lists_(0, seeded_id_hash{seed}, same_id_words{}) {}

  // `client_of(entry)`: the client of the order the entry names, or null once it is stale.
  // `live_orders`: the book's resting orders, which sets when the log is next sorted.
  template <class ClientOf>
  void add(entry e, std::size_t live_orders, ClientOf&& client_of) {
    pending_.push_back(e);
    if (pending_.size() >= sort_at_) sort_pending(live_orders, client_of);
  }

  // Removes `client`'s list; returns its live entries in the order they rested
  // (created_sequence ascending). Recovery restores orders by level, not by time, so the
  // list alone is not in that order.
  template <class ClientOf>
  std::vector<entry> take(const client_id& client, std::size_t live_orders, ClientOf&& client_of) {
    sort_pending(live_orders, client_of);
    std::vector<entry> taken;
    const auto found = lists_.find(client);
    if (found == lists_.end()) return taken;
    taken = std::move(found->second.entries);
    lists_.erase(found);
    std::erase_if(taken, [&](const entry& e) { return client_of(e) == nullptr; });
    std::sort(taken.begin(), taken.end(),
              [](const entry& a, const entry& b) { return a.created < b.created; });
    return taken;
  }

  // f(client, entries) for every list, then f(nullptr, pending log); stale entries
  // included: for the book's invariants.
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [client, l] : lists_) f(&client, l.entries);
    f(nullptr, pending_);
  }
  // Clients with a list, including emptied ones not yet swept: for tests.
  std::size_t client_count() const noexcept { return lists_.size(); }
  // Entries over all lists and the pending log, stale ones included: for tests.
  std::size_t entry_count() const noexcept {
    std::size_t n = pending_.size();
    for (const auto& kv : lists_) n += kv.second.entries.size();
    return n;
  }
  // The pending log's length that sorts it, at least and at most: the most also bounds what
  // one mass cancel may have to sort first (about 5 ms).
  static constexpr std::size_t kMinSort = 4096;
  static constexpr std::size_t kMaxSort = std::size_t{1} << 20;

 private:
  static constexpr std::size_t kMinCompact = 16;
  static constexpr std::size_t kMinSweep = 4096;

  struct list {
    std::vector<entry> entries;
    std::size_t compact_at = kMinCompact;
  };

  template <class ClientOf>
  void sort_pending(std::size_t live_orders, ClientOf& client_of) {
    for (const entry& e : pending_) {
      if (const client_id* client = client_of(e)) append(*client, e, client_of);
    }
    pending_.clear();
    sort_at_ = std::clamp(4 * live_orders, kMinSort, kMaxSort);
  }

  template <class ClientOf>
  void append(const client_id& client, entry e, ClientOf& client_of) {
    auto found = lists_.find(client);
    if (found == lists_.end()) {
      if (lists_.size() >= sweep_at_) sweep(client_of);
      found = lists_.try_emplace(client).first;
    }
    list& l = found->second;
    l.entries.push_back(e);
    if (l.entries.size() >= l.compact_at) compact(l, client_of);
  }

  template <class ClientOf>
  static void compact(list& l, ClientOf& client_of) {
    std::erase_if(l.entries, [&](const entry& e) { return client_of(e) == nullptr; });
    l.compact_at = std::max(kMinCompact, 2 * l.entries.size());
  }

  template <class ClientOf>
  void sweep(ClientOf& client_of) {
    for (auto& [client, l] : lists_) compact(l, client_of);
    boost::unordered::erase_if(lists_, [](const auto& kv) { return kv.second.entries.empty(); });
    sweep_at_ = std::max(kMinSweep, 2 * lists_.size());
  }

  boost::unordered_flat_map<client_id, list, seeded_id_hash, same_id_words> lists_;
  std::size_t sweep_at_ = kMinSweep;
  std::vector<entry> pending_;
  std::size_t sort_at_ = kMinSort;
};

}  // namespace matchd::engine
