#pragma once

#include <matchd/bus/incremental_map.h>
#include <matchd/engine/order.h>

#include <cstddef>
#include <functional>
#include <memory>

namespace matchd::publish {

// The publish stage's view of every order it may be asked for: open orders, and finished
// ones until the engine forgets them (the retention horizon).
//
// Each order lives in a block of its own, and the table holds two pointers to it: the key
// (hashed and compared by the order's id, so a lookup by id needs no key object and no
// std::string allocation) and the owner. A table that held the ids and orders inline took
// about 300 bytes a slot; doubling it near a million orders meant 380 MB of fresh pages,
// and even with those populated off this thread (bus::incremental_map) acknowledgements
// stopped for 0.1 s. At 16 bytes a slot the doubling is 32 MB, and the orders' own blocks
// are allocated one by one as orders arrive, which spreads their first-touch cost evenly.
//
// Beside each order it keeps the order's client_order_id, which the engine's order does not
// hold (its events would grow): the placement's outcome brings it (bus::command_outcome).
class order_view {
 public:
  struct entry {
    engine::order order;  // first: the table's key points at it
    engine::order_label client_order_id;
  };

  const engine::order* find(const engine::order_id& id) const {
    const entry* e = find_entry(id);
    return e == nullptr ? nullptr : &e->order;
  }
  const entry* find_entry(const engine::order_id& id) const {
    const auto* owner = orders_.find(id);
    return owner == nullptr ? nullptr : owner->get();
  }

  // Keeps `o` as the order's latest state, and `label` as its client_order_id when one is
  // given (a placement's first state); otherwise the label it has stays.
  const entry& put(const engine::order& o, const engine::order_label* label = nullptr) {
    if (auto* owner = orders_.find(o.id)) {
      (*owner)->order = o;
      if (label != nullptr) (*owner)->client_order_id = *label;
      return **owner;
    }
    auto owned =
        std::make_unique<entry>(entry{o, label != nullptr ? *label : engine::order_label{}});
    const entry& held = *owned;
    const engine::order* key = &owned->order;
    orders_.try_emplace(key, std::move(owned));
    return held;
  }

  // Recovery: the client_order_id of an order already put.
  void set_label(const engine::order_id& id, const engine::order_label& label) {
    if (auto* owner = orders_.find(id)) (*owner)->client_order_id = label;
  }

  void erase(const engine::order_id& id) {
    if (const auto* owner = orders_.find(id)) {
      const engine::order* key = &(*owner)->order;
      orders_.erase(key);  // the owner goes with its entry
    }
  }

  // Room for `orders` without a table switch, the table's pages made present.
  void reserve(std::size_t orders) { orders_.reserve(orders, true); }

  std::size_t size() const noexcept { return orders_.size(); }

 private:
  struct by_id_hash {
    using is_transparent = void;
    std::size_t operator()(const engine::order_id& id) const noexcept { return hash_value(id); }
    std::size_t operator()(const engine::order* o) const noexcept { return hash_value(o->id); }
  };
  struct by_id_equal {
    using is_transparent = void;
    static const engine::order_id& id(const engine::order_id& i) noexcept { return i; }
    static const engine::order_id& id(const engine::order* o) noexcept { return o->id; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      return id(a) == id(b);
    }
  };

  bus::incremental_map<const engine::order*, std::unique_ptr<entry>, by_id_hash, by_id_equal>
      orders_;
};

}  // namespace matchd::publish
