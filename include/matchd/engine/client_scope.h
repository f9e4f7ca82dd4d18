#pragma once

#include <matchd/engine/types.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace matchd::engine {

// The clients a caller may act for: an API key's client_ids. Sorted and without
// duplicates, immutable once built, shared by every command and query of the key.
class client_set {
 public:
  explicit client_set(std::vector<client_id> clients) : clients_(std::move(clients)) {
    std::sort(clients_.begin(), clients_.end(),
              [](const client_id& a, const client_id& b) { return a.view() < b.view(); });
    clients_.erase(std::unique(clients_.begin(), clients_.end()), clients_.end());
  }

  bool contains(const client_id& c) const noexcept {
    const auto it = std::lower_bound(
        clients_.begin(), clients_.end(), c,
        [](const client_id& a, const client_id& b) { return a.view() < b.view(); });
    return it != clients_.end() && *it == c;
  }
  const std::vector<client_id>& clients() const noexcept { return clients_; }

 private:
  std::vector<client_id> clients_;
};

// Null: every client (an admin key, or --auth none). Otherwise only the set's clients; an
// order of any other client is, to this caller, an order that does not exist.
using client_scope = std::shared_ptr<const client_set>;

inline bool in_scope(const client_scope& scope, const client_id& c) noexcept {
  return scope == nullptr || scope->contains(c);
}

}  // namespace matchd::engine
