#pragma once

#include <matchd/engine/types.h>

#include <boost/container_hash/hash.hpp>
#include <boost/unordered/unordered_flat_set.hpp>
#include <memory>
#include <vector>

namespace matchd::engine {

// The clients a caller may act for: an API key's client_ids, immutable once built, shared
// by every command and query of the key. Asked on every order and cancel of the key and
// for every order frame a scoped subscriber might get, so a hash set: a key may be bound to
// thousands of clients, and a binary search over them is a dozen string compares.
class client_set {
 public:
  explicit client_set(const std::vector<client_id>& clients)
      : clients_(clients.begin(), clients.end()) {}

  bool contains(const client_id& c) const noexcept { return clients_.contains(c); }
  std::size_t size() const noexcept { return clients_.size(); }

 private:
  boost::unordered_flat_set<client_id, boost::hash<client_id>> clients_;
};

// Null: every client (an admin key, or --auth none). Otherwise only the set's clients; an
// order of any other client is, to this caller, an order that does not exist.
using client_scope = std::shared_ptr<const client_set>;

inline bool in_scope(const client_scope& scope, const client_id& c) noexcept {
  return scope == nullptr || scope->contains(c);
}

}  // namespace matchd::engine
