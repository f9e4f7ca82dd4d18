#pragma once

#include <matchd/bus/incremental_map.h>
#include <matchd/engine/chunked_vector.h>
#include <matchd/engine/id_hash.h>
#include <matchd/engine/order.h>

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace matchd::publish {

// The publish stage's view of every order it may be asked for: open orders, and finished
// ones until the engine forgets them (the retention horizon).
//
// Each order lives in a block of its own, and the table holds two pointers to it: the key
// (hashed and compared by the order's id, so a lookup by id needs no key object and no
// std::string allocation) and the block. A table that held the ids and orders inline took
// about 300 bytes a slot; doubling it near a million orders meant 380 MB of fresh pages,
// and even with those populated off this thread (bus::incremental_map) acknowledgements
// stopped for 0.1 s. At 16 bytes a slot the doubling is 32 MB. The blocks come from chunks
// of 1,024 that never move, filled as orders arrive (which spreads their first-touch cost
// evenly), and an erased order's block is reused.
//
// Beside each order it keeps the order's client_order_id, which the engine's order does not
// hold (its events would grow): the placement's outcome brings it (bus::command_outcome).
//
// Per client, the blocks are also linked into two lists ordered by created_sequence, for
// GET /orders: the client's open orders, and every order of it the view holds. A new
// order is appended (it is the client's newest, unless recovery seeds out of order: then
// it walks back to its place), an order that finishes leaves the open list in O(1), and
// only a new order or an erase looks the client up: in a flat map with a seeded hash over
// the id's words (a std::unordered_map there, hashing bytes and chasing a node per lookup,
// was a tenth of this thread's time at the REST ceiling).
class order_view {
  struct client_orders;

 public:
  order_view();

  // An order and what the view keeps beside it.
  class entry {
   public:
    entry() = default;
    entry(const engine::order& o, const engine::order_label& label)
        : order(o), client_order_id(label) {}
    engine::order order;  // first: the table's key points at it
    engine::order_label client_order_id;

   private:
    friend class order_view;
    struct links {
      entry* prev = nullptr;
      entry* next = nullptr;
    };
    client_orders* owner = nullptr;  // its client's lists
    links open{};                    // in owner->open while the order is open
    links all{};                     // in owner->all while the view holds it
    bool in_open = false;
  };

  const engine::order* find(const engine::order_id& id) const {
    const entry* e = find_entry(id);
    return e == nullptr ? nullptr : &e->order;
  }
  const entry* find_entry(const engine::order_id& id) const {
    entry* const* held = orders_.find(id);
    return held == nullptr ? nullptr : *held;
  }

  // Keeps `o` as the order's latest state, and `label` as its client_order_id when one is
  // given (a placement's first state); otherwise the label it has stays.
  const entry& put(const engine::order& o, const engine::order_label* label = nullptr) {
    if (entry** held = orders_.find(o.id)) {
      entry& e = **held;
      update(e, o);
      if (label != nullptr) e.client_order_id = *label;
      return e;
    }
    entry& e = new_entry();
    e = entry(o, label != nullptr ? *label : engine::order_label{});
    orders_.try_emplace(&e.order, &e);
    attach(e);
    return e;
  }

  // Recovery: the client_order_id of an order already put.
  void set_label(const engine::order_id& id, const engine::order_label& label) {
    if (entry** held = orders_.find(id)) (*held)->client_order_id = label;
  }

  void erase(const engine::order_id& id) {
    if (entry** held = orders_.find(id)) {
      entry* e = *held;
      detach(*e);
      orders_.erase(&e->order);
      free_entries_.push_back(e);
    }
  }

  // Recovery seeds orders in the books' order, not by creation: between these two, put()
  // appends each order to its client's lists, and finish_seeding() sorts every list once
  // (O(n log n)), where keeping them sorted per order walks back O(n) each time.
  void begin_seeding() noexcept { seeding_ = true; }
  void finish_seeding();

  // Room for `orders` without a table switch, the table's pages made present.
  void reserve(std::size_t orders) {
    orders_.reserve(orders, true);
    entries_.reserve(orders);
  }

  std::size_t size() const noexcept { return orders_.size(); }

  // What one page of a client's orders asks for (GET /orders).
  struct page_query {
    engine::client_id client;
    std::optional<engine::instrument_id> instrument;  // nullopt: every instrument
    bool open_only = true;
    engine::sequence_number before = 0;  // only orders created before this; 0: no bound
    std::size_t limit = 100;
  };
  // The client's orders that match, newest (highest created_sequence) first, at most
  // `limit + 1` of them: one more than a page, so the caller knows whether another follows.
  // O(orders skipped to reach `before` + orders of other instruments passed over).
  std::vector<const entry*> page(const page_query& q) const;

  // How many orders of `client` are open / held (for tests and metrics).
  std::size_t open_count(const engine::client_id& client) const;
  std::size_t held_count(const engine::client_id& client) const;

 private:
  using links = entry::links;
  struct order_list {
    // Not yet read: the tail was removed, and its predecessor's creation is in its block.
    static constexpr engine::sequence_number kUnknown = ~engine::sequence_number{0};
    entry* head = nullptr;  // oldest
    entry* tail = nullptr;  // newest
    // The tail's created_sequence, so that appending a client's newest order need not read
    // the tail's block: a cache miss for nearly every new order (a client's previous order
    // is thousands of orders back), half of the publish thread's time in attach.
    engine::sequence_number tail_created = 0;
  };
  struct client_orders {
    order_list open;
    order_list all;
    std::size_t open_count = 0;
    std::size_t held_count = 0;
  };

  // The order's first state, or a new client or creation (attach after detach).
  void attach(entry& e);
  void detach(entry& e);
  void update(entry& e, const engine::order& o);
  void insert_by_creation(order_list& list, links entry::*l, entry& e) const;
  static void relink_by_creation(order_list& list, links entry::*l);
  static void remove(order_list& list, links entry::*l, entry& e);

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
  entry& new_entry() {
    if (free_entries_.empty()) return entries_.emplace_back();
    entry* e = free_entries_.back();
    free_entries_.pop_back();
    return *e;
  }

  // The blocks, a chunk of 1,024 at a time, and those erased, for reuse. One malloc and one
  // free per order (and the arena's growth behind them: sysmalloc, mprotect) were a quarter
  // of this thread's time at the REST ceiling.
  engine::chunked_vector<entry, 10> entries_;
  std::vector<entry*> free_entries_;
  bus::incremental_map<const engine::order*, entry*, by_id_hash, by_id_equal> orders_;
  // The blocks point at their client's lists, which must not move: held by pointer.
  boost::unordered_flat_map<engine::client_id, std::unique_ptr<client_orders>,
                            engine::seeded_id_hash, engine::same_id_words>
      clients_;
  bool seeding_ = false;
};

}  // namespace matchd::publish
