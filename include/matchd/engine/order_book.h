#pragma once

#include <matchd/engine/chunked_vector.h>
#include <matchd/engine/client_orders.h>
#include <matchd/engine/event.h>
#include <matchd/engine/fees.h>
#include <matchd/engine/id_index.h>
#include <matchd/engine/order.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace matchd::engine {

// The resting orders of one instrument under price-time priority.
//
// Orders live in a pool of nodes linked into a FIFO per price level; each node knows its
// level, so cancel is O(1) plus the removal of an emptied level. Each side keeps a vector
// of (price, level) sorted so that the best price is at the back: the touch is where
// nearly all adds, fills and cancels happen, so inserts and removals move few elements.
// Pools grow by doubling and recycle through free lists: steady state allocates nothing.
//
// Each client's resting orders are also listed per client (client_orders), so a mass
// cancel visits that client's orders and the few rested since the lists were last sorted;
// only resting an order writes there, one append.
//
// Not thread-safe: owned by the engine thread.
class order_book {
 public:
  using node_index = std::uint32_t;
  static constexpr node_index kNoNode = std::numeric_limits<node_index>::max();

  struct level_view {
    price_ticks price;
    quantity_lots quantity;
    std::uint32_t orders;
  };

  // Where a market order must stop (venue_rules.h): a buy before a level priced above
  // `worst_price`, a sell before one below it, and either before a fill that would take its
  // notional (ticks x lots) above `max_notional`. Zero: no such limit. Limit orders are
  // checked before they match and run without limits.
  struct taker_limits {
    price_ticks worst_price{0};
    int128 max_notional = 0;
  };

  // Everything a matching step needs from the engine for the command being run. Every
  // event takes the next number of the global sequence, so a command's events carry
  // consecutive numbers and every stream is strictly increasing.
  struct command_context {
    sequence_number* last_sequence;
    timestamp_us now;
    trade_id* next_trade_id;
    event_buffer* out;
    taker_limits limits;

    sequence_number next() noexcept { return ++*last_sequence; }
  };

  explicit order_book(instrument_id id, std::size_t expected_orders = 1024);

  // Matches `taker` against the opposite side, emitting trades and maker states; rests
  // the remainder if it is a GTC limit order, otherwise ends it (cancelled / filled).
  // FOK orders that cannot fill completely end `rejected` without trading. Emits the
  // taker's final state and the level deltas last. Returns the node the remainder
  // rests in, or kNoNode. `key` is the taker's id key, kept in its node while it rests.
  node_index execute(order& taker, const id_key& key, command_context& ctx);

  // Removes a resting order and emits its cancelled state and the level delta.
  void cancel(node_index n, command_context& ctx);

  // Amends the order resting in `n` to `price` and `quantity` (the new total, above what
  // filled; the engine checked). A lower quantity at the same price keeps the order's place
  // in its level; anything else takes it out of the book and runs it again as a taker
  // (with its own stp) at the new price, with a new time priority (created_sequence): what
  // does not fill goes to the back of its level. Emits the trades and makers' states, the
  // order's new state, then the level deltas (the old level's too). Returns the node it
  // rests in now, or kNoNode (it filled, or stp cancelled it).
  node_index amend(node_index n, price_ticks price, quantity_lots quantity, const id_key& key,
                   command_context& ctx);

  // Whether a limit order of side `s` at `price` would trade on arrival (post_only).
  bool would_take(side s, price_ticks price) const;

  // Stop orders (docs/api.md, "Stop orders"). A stop waits outside the levels, in a node of
  // the same pool, so the id index, cancel and the mass cancel find it as they find a
  // resting order, until the last trade price reaches its stop price: a buy stop when a
  // trade is at or above it, a sell stop at or below.
  //
  // Whether a stop of side `s` at `stop` is reached now.
  bool stop_reached(side s, price_ticks stop) const noexcept;
  // A new stop order `o` (fields as execute() takes them, stop_price set): already reached,
  // it is created `rejected` with reason would_trigger; otherwise it waits, `open`. Emits
  // its state. Returns the node it waits in, or kNoNode.
  node_index place_stop(order& o, const id_key& key, command_context& ctx);
  // The next stop reached, taken out (its node freed) with its key; nullopt when none.
  // Among those reached: buy stops lowest first, sell stops highest first, the one placed
  // first on a tie; across the two sides, the one placed first.
  std::optional<order> take_triggered(id_key& key);
  bool has_stops() const noexcept { return !buy_stops_.empty() || !sell_stops_.empty(); }
  std::size_t stop_count() const noexcept { return buy_stops_.size() + sell_stops_.size(); }
  // Runs a stop that triggered (take_triggered) as the order its type says, exactly as
  // execute() runs a new one, but keeping its created_at: marked triggered, with a new
  // time priority (created_sequence) from the trigger.
  node_index execute_triggered(order& taker, const id_key& key, command_context& ctx);
  // The stops waiting, buys then sells, each side in trigger order.
  template <class F>
  void for_each_stop(F&& f) const {
    for (const auto* stops : {&buy_stops_, &sell_stops_}) {
      for (auto it = stops->rbegin(); it != stops->rend(); ++it) f(nodes_[it->node].state);
    }
  }

  // Mass cancel: removes every order of `client` resting here, in the order they rested
  // (created_sequence ascending), emitting each one's cancelled state, then one level delta
  // per touched level in the order first touched. Returns how many were cancelled.
  std::size_t cancel_client(const client_id& client, command_context& ctx);
  // Clients with a list (including emptied ones not yet swept): for tests.
  std::size_t client_list_count() const noexcept { return clients_.client_count(); }
  std::size_t client_list_entries() const noexcept { return clients_.entry_count(); }

  // Appends an order at the back of its price level without matching (recovery).
  // Orders must be restored in their original priority order.
  node_index restore(const order& resting, const id_key& key);
  // Recovery: a stop still waiting for its trigger, in any order.
  node_index restore_stop(const order& waiting, const id_key& key);

  const order& resting_order(node_index n) const { return nodes_[n].state; }
  // The id key of the order resting in node `n`; {0, 0} once the node is freed. So the
  // engine's id index need not be told when a maker fills: its entry's node no longer
  // holds the key.
  const id_key& key_at(node_index n) const { return nodes_[n].key; }

  // The price of the book's last trade; nullopt before the first (restore_last_trade sets
  // it at recovery).
  std::optional<price_ticks> last_trade_price() const {
    if (last_trade_price_.value == 0) return std::nullopt;
    return last_trade_price_;
  }
  void restore_last_trade(price_ticks p) { last_trade_price_ = p; }
  // What this book's trades charge their sides (none until set).
  void set_fees(const fee_calculator& fees) noexcept { fees_ = fees; }

  std::optional<price_ticks> best_bid() const;
  std::optional<price_ticks> best_ask() const;
  std::size_t level_count(side s) const { return side_levels(s).size(); }
  // Resting orders and waiting stops: what the book holds against its capacity.
  std::size_t order_count() const { return live_orders_; }
  quantity_lots total_quantity(side s) const;

  // Best level first; stops after `max_levels` or when `f` returns false.
  template <class F>
  void for_each_level(side s, std::size_t max_levels, F&& f) const {
    const auto& refs = side_levels(s);
    std::size_t n = 0;
    for (auto it = refs.rbegin(); it != refs.rend() && n < max_levels; ++it, ++n) {
      const price_level& l = levels_[it->level];
      if (!f(level_view{l.price, l.total, l.orders})) return;
    }
  }

  // Every resting order of one side in priority order: best price first, FIFO within.
  template <class F>
  void for_each_order(side s, F&& f) const {
    const auto& refs = side_levels(s);
    for (auto it = refs.rbegin(); it != refs.rend(); ++it) {
      for (node_index n = levels_[it->level].head; n != kNoNode; n = nodes_[n].next) {
        f(nodes_[n].state);
      }
    }
  }

  // Checks the structural invariants (sorted and uncrossed sides, level totals and counts
  // equal to their orders, links consistent). Returns an empty string when they hold,
  // otherwise a description of the first violation. O(orders): for tests and recovery.
  std::string check_invariants() const;

 private:
  struct order_node {
    order state;
    node_index prev = kNoNode;
    node_index next = kNoNode;
    std::uint32_t level = 0;
    id_key key{};
  };
  struct price_level {
    price_ticks price{};
    side level_side = side::buy;
    quantity_lots total{};
    std::uint32_t orders = 0;
    node_index head = kNoNode;
    node_index tail = kNoNode;
    std::uint32_t next_free = 0;
    std::uint32_t mark = 0;  // cancel_client's touch mark (touch_once)
  };
  struct level_ref {
    price_ticks price;
    std::uint32_t level;
  };
  // A waiting stop: its trigger key and node. The node's `level` is kStopLevel.
  struct stop_ref {
    price_ticks stop;
    sequence_number created;
    node_index node;
  };
  static constexpr std::uint32_t kStopLevel = std::numeric_limits<std::uint32_t>::max() - 1;
  struct touched_level {
    side level_side;
    price_ticks price;
    std::uint32_t level;  // where it was; still valid if that level is live at this price
  };

  std::vector<level_ref>& side_levels(side s) { return s == side::buy ? bids_ : asks_; }
  const std::vector<level_ref>& side_levels(side s) const { return s == side::buy ? bids_ : asks_; }

  node_index allocate_node();
  void free_node(node_index n);
  std::uint32_t find_or_insert_level(side s, price_ticks p);
  void unlink(node_index n);
  void remove_level(side s, std::uint32_t level);
  node_index rest(const order& o, const id_key& key);
  // execute() after the taker's fields are set: FOK and post_only checks, match, finish.
  node_index run_taker(order& taker, const id_key& key, command_context& ctx);
  std::vector<stop_ref>& stops(side s) { return s == side::buy ? buy_stops_ : sell_stops_; }
  const std::vector<stop_ref>& stops(side s) const {
    return s == side::buy ? buy_stops_ : sell_stops_;
  }
  static bool triggers_before(side s, const stop_ref& a, const stop_ref& b) noexcept;
  static std::vector<stop_ref>::iterator stop_position(std::vector<stop_ref>& list, side s,
                                                       const stop_ref& ref);
  node_index park(const order& o, const id_key& key);
  // Takes a waiting stop out of its side's list and frees its node.
  void remove_stop(node_index n);
  bool can_fill_completely(const order& taker) const;
  // True when self-trade prevention stopped the taker (cancel_taker, cancel_both).
  bool match(order& taker, command_context& ctx);
  // The taker met the resting order at the head of `level`, of its own client: applies the
  // taker's stp (not none). True when the taker must stop.
  bool prevent_self_trade(order& taker, price_level& level, command_context& ctx);
  // After matching: the taker's final state (filled, rested, or cancelled, with the
  // reason when self-trade prevention stopped it), its event and the level deltas.
  node_index finish_taker(order& taker, bool stopped, const id_key& key, command_context& ctx);
  static bool beyond_limit(side taker_side, price_ticks level, price_ticks worst) noexcept;
  // A market order stopped short of a level beyond its limits: why, in its reason.
  static void stopped_at_price_band(order& taker) noexcept;
  static void stopped_at_max_notional(order& taker) noexcept;
  void touch(side s, price_ticks p, std::uint32_t level);
  void emit_level_deltas(command_context& ctx);
  // The client of the order `e` names, or null once that order left its node.
  const client_id* client_of(const client_orders::entry& e) const noexcept {
    const order_node& node = nodes_[e.node];
    return node.key != id_key{} && node.state.created_sequence == e.created ? &node.state.client
                                                                            : nullptr;
  }
  // client_of as the callable client_orders asks for.
  auto client_lookup() const noexcept {
    return [this](const client_orders::entry& e) { return client_of(e); };
  }
  void list_client_order(node_index n, const order& o) {
    clients_.add({n, o.created_sequence}, live_orders_, client_lookup());
  }
  // touch() for a command that touches many levels: O(1) per order via the level's mark.
  void touch_once(side s, price_ticks p, std::uint32_t level);

  instrument_id instrument_;
  // Chunked, not std::vector: growing past the reserve must not copy every node.
  chunked_vector<order_node, 12> nodes_;
  node_index free_node_head_ = kNoNode;
  chunked_vector<price_level, 12> levels_;
  std::uint32_t free_level_head_ = std::numeric_limits<std::uint32_t>::max();
  std::vector<level_ref> bids_;  // ascending price: best bid at the back
  std::vector<level_ref> asks_;  // descending price: best ask at the back
  std::vector<touched_level> touched_;
  std::size_t live_orders_ = 0;
  price_ticks last_trade_price_{0};
  fee_calculator fees_;
  // The waiting stops, sorted so that the next to trigger is at the back.
  std::vector<stop_ref> buy_stops_;
  std::vector<stop_ref> sell_stops_;
  // Each client's resting orders (cancel_client), written only when an order rests.
  client_orders clients_;
  std::uint32_t touch_mark_ = 0;
};

}  // namespace matchd::engine
