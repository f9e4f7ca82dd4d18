#include <matchd/engine/level_order.h>
#include <matchd/engine/order_book.h>

#include <algorithm>
#include <random>
#include <string>

namespace matchd::engine {

namespace {

constexpr std::uint32_t kNoLevel = std::numeric_limits<std::uint32_t>::max();

constexpr bool crosses(const order& taker, price_ticks level_price) noexcept {
  if (taker.type == order_type::market) return true;
  return taker.order_side == side::buy ? level_price <= taker.price : level_price >= taker.price;
}

}  // namespace

order_book::order_book(instrument_id id, std::size_t expected_orders)
    : instrument_(id), clients_(std::random_device{}()) {
  nodes_.reserve(expected_orders);
  levels_.reserve(expected_orders / 4 + 64);
  bids_.reserve(expected_orders / 8 + 64);
  asks_.reserve(expected_orders / 8 + 64);
  touched_.reserve(64);
}

order_book::node_index order_book::allocate_node() {
  if (free_node_head_ != kNoNode) {
    const node_index n = free_node_head_;
    free_node_head_ = nodes_[n].next;
    return n;
  }
  nodes_.emplace_back();
  return static_cast<node_index>(nodes_.size() - 1);
}

void order_book::free_node(node_index n) {
  nodes_[n].key = id_key{};
  nodes_[n].next = free_node_head_;
  free_node_head_ = n;
  --live_orders_;
}

std::uint32_t order_book::find_or_insert_level(side s, price_ticks p) {
  auto& refs = side_levels(s);
  const auto it = touch_first_lower_bound(refs.begin(), refs.end(), s, p,
                                          [](const level_ref& r) { return r.price; });
  if (it != refs.end() && it->price == p) return it->level;

  std::uint32_t level;
  if (free_level_head_ != kNoLevel) {
    level = free_level_head_;
    free_level_head_ = levels_[level].next_free;
  } else {
    levels_.emplace_back();
    level = static_cast<std::uint32_t>(levels_.size() - 1);
  }
  levels_[level] = price_level{p, s, quantity_lots{0}, 0, kNoNode, kNoNode, kNoLevel};
  refs.insert(it, level_ref{p, level});
  return level;
}

void order_book::remove_level(side s, std::uint32_t level) {
  auto& refs = side_levels(s);
  refs.erase(touch_first_lower_bound(refs.begin(), refs.end(), s, levels_[level].price,
                                     [](const level_ref& r) { return r.price; }));
  levels_[level].next_free = free_level_head_;
  free_level_head_ = level;
}

order_book::node_index order_book::rest(const order& o, const id_key& key) {
  const node_index n = allocate_node();
  const std::uint32_t level = find_or_insert_level(o.order_side, o.price);
  order_node& node = nodes_[n];
  node.state = o;
  node.key = key;
  node.level = level;
  node.next = kNoNode;
  price_level& l = levels_[level];
  node.prev = l.tail;
  if (l.tail != kNoNode) {
    nodes_[l.tail].next = n;
  } else {
    l.head = n;
  }
  l.tail = n;
  l.total += o.remaining();
  ++l.orders;
  ++live_orders_;
  list_client_order(n, o);
  return n;
}

void order_book::unlink(node_index n) {
  order_node& node = nodes_[n];
  price_level& l = levels_[node.level];
  if (node.prev != kNoNode) {
    nodes_[node.prev].next = node.next;
  } else {
    l.head = node.next;
  }
  if (node.next != kNoNode) {
    nodes_[node.next].prev = node.prev;
  } else {
    l.tail = node.prev;
  }
  l.total -= node.state.remaining();
  --l.orders;
  if (l.orders == 0) remove_level(node.state.order_side, node.level);
  free_node(n);
}

void order_book::touch(side s, price_ticks p, std::uint32_t level) {
  for (touched_level& t : touched_) {
    if (t.level_side == s && t.price == p) {
      // An amend empties a level and may make one at the same price again: the newest is
      // the live one.
      t.level = level;
      return;
    }
  }
  touched_.push_back({s, p, level});
}

bool order_book::can_fill_completely(const order& taker) const {
  quantity_lots needed = taker.remaining();
  const auto& refs = side_levels(opposite(taker.order_side));
  for (auto it = refs.rbegin(); it != refs.rend(); ++it) {
    if (!crosses(taker, it->price)) break;
    if (taker.stp == stp_mode::none) {
      needed -= levels_[it->level].total;
      if (needed.value <= 0) return true;
      continue;
    }
    // Own orders do not fill it: cancel_maker skips them, the others stop at the first.
    for (node_index n = levels_[it->level].head; n != kNoNode; n = nodes_[n].next) {
      const order& maker = nodes_[n].state;
      if (maker.client == taker.client) {
        if (taker.stp == stp_mode::cancel_maker) continue;
        return false;
      }
      needed -= maker.remaining();
      if (needed.value <= 0) return true;
    }
  }
  return false;
}

bool order_book::beyond_limit(side taker_side, price_ticks level, price_ticks worst) noexcept {
  return taker_side == side::buy ? level > worst : level < worst;
}

void order_book::stopped_at_price_band(order& taker) noexcept {
  taker.reason = end_reason::price_band;
}

void order_book::stopped_at_max_notional(order& taker) noexcept {
  taker.reason = end_reason::max_notional;
}

bool order_book::would_take(side s, price_ticks price) const {
  const auto& refs = side_levels(opposite(s));
  if (refs.empty()) return false;
  const price_ticks best = refs.back().price;
  return s == side::buy ? best <= price : best >= price;
}

bool order_book::prevent_self_trade(order& taker, price_level& l, command_context& ctx) {
  if (taker.stp == stp_mode::cancel_taker) return true;
  // cancel_maker or cancel_both: the resting order leaves the book, cancelled.
  const node_index m = l.head;
  order& maker = nodes_[m].state;
  l.total -= maker.remaining();
  l.head = nodes_[m].next;
  if (l.head != kNoNode) {
    nodes_[l.head].prev = kNoNode;
  } else {
    l.tail = kNoNode;
  }
  --l.orders;
  maker.status = order_status::cancelled;
  maker.reason = end_reason::self_trade_prevention;
  maker.updated_at = ctx.now;
  maker.sequence = ctx.next();
  ctx.out->emplace_back(maker);
  free_node(m);
  return taker.stp == stp_mode::cancel_both;
}

bool order_book::match(order& taker, command_context& ctx) {
  const side maker_side = opposite(taker.order_side);
  auto& refs = side_levels(maker_side);
  const taker_limits limits = ctx.limits;
  bool stopped = false;   // by self-trade prevention: the taker's remainder is cancelled
  bool at_limit = false;  // at the band or the max notional: a market order's end
  while (!stopped && !at_limit && taker.remaining().value > 0 && !refs.empty()) {
    const std::uint32_t level = refs.back().level;
    price_level& l = levels_[level];
    if (!crosses(taker, l.price)) break;
    if (limits.worst_price.value != 0 &&
        beyond_limit(taker.order_side, l.price, limits.worst_price)) {
      stopped_at_price_band(taker);
      break;
    }
    // Before the level is touched, so a level the taker cannot reach gets no delta. A head
    // of the taker's own client is left to the loop: self-trade prevention comes first.
    const order& head_order = nodes_[l.head].state;
    if (limits.max_notional != 0 &&
        !(taker.stp != stp_mode::none && head_order.client == taker.client) &&
        taker.notional + static_cast<int128>(l.price.value) *
                             min(taker.remaining(), head_order.remaining()).value >
            limits.max_notional) {
      stopped_at_max_notional(taker);
      break;
    }
    touch(maker_side, l.price, level);

    while (taker.remaining().value > 0 && l.head != kNoNode) {
      const node_index m = l.head;
      order& maker = nodes_[m].state;
      if (taker.stp != stp_mode::none && maker.client == taker.client) [[unlikely]] {
        stopped = prevent_self_trade(taker, l, ctx);
        if (stopped) break;
        continue;
      }
      const quantity_lots fill = min(taker.remaining(), maker.remaining());
      const int128 fill_notional = static_cast<int128>(l.price.value) * fill.value;
      if (limits.max_notional != 0 && taker.notional + fill_notional > limits.max_notional) {
        stopped_at_max_notional(taker);
        at_limit = true;
        break;
      }
      last_trade_price_ = l.price;

      for (order* o : {&maker, &taker}) {
        o->filled += fill;
        o->notional += fill_notional;
        o->updated_at = ctx.now;
      }
      maker.status =
          maker.remaining().value == 0 ? order_status::filled : order_status::partially_filled;
      l.total -= fill;

      // Built in place: an event is a few hundred bytes, and a copy of it is not free.
      trade& t = std::get<trade>(ctx.out->emplace_back(std::in_place_type<trade>));
      t.id = (*ctx.next_trade_id)++;
      t.instrument = instrument_;
      t.price = l.price;
      t.quantity = fill;
      t.aggressor = taker.order_side;
      const order& buyer = taker.order_side == side::buy ? taker : maker;
      const order& seller = taker.order_side == side::buy ? maker : taker;
      t.buy_order_id = buyer.id;
      t.sell_order_id = seller.id;
      t.executed_at = ctx.now;
      t.maker_fee = fees_.maker_fee(fill_notional);
      t.taker_fee = fees_.taker_fee(fill_notional);
      t.sequence = ctx.next();
      maker.sequence = ctx.next();
      ctx.out->emplace_back(maker);

      if (maker.status == order_status::filled) {
        l.head = nodes_[m].next;
        if (l.head != kNoNode) {
          nodes_[l.head].prev = kNoNode;
        } else {
          l.tail = kNoNode;
        }
        --l.orders;
        free_node(m);
      }
    }
    if (l.orders == 0) {
      refs.pop_back();
      l.next_free = free_level_head_;
      free_level_head_ = level;
    }
  }
  return stopped;
}

void order_book::emit_level_deltas(command_context& ctx) {
  for (const touched_level& t : touched_) {
    level_delta d;
    d.instrument = instrument_;
    d.level_side = t.level_side;
    d.price = t.price;
    d.sequence = ctx.next();
    // An emptied level is freed and may be reused within the command; when an amend builds
    // the same side and price again, touch() recorded the new level, so a live match is the
    // level as the command left it.
    const price_level& l = levels_[t.level];
    if (l.orders > 0 && l.price == t.price && l.level_side == t.level_side) {
      d.quantity = l.total;
      d.orders = l.orders;
    }
    ctx.out->emplace_back(d);
  }
  touched_.clear();
}

order_book::node_index order_book::execute(order& taker, const id_key& key, command_context& ctx) {
  touched_.clear();
  taker.status = order_status::open;
  taker.filled = quantity_lots{0};
  taker.notional = 0;
  taker.created_at = taker.updated_at = ctx.now;
  // Time priority: the first number of this command, above every earlier command's.
  taker.created_sequence = *ctx.last_sequence + 1;
  return run_taker(taker, key, ctx);
}

order_book::node_index order_book::run_taker(order& taker, const id_key& key,
                                             command_context& ctx) {
  if (taker.tif == time_in_force::fok && !can_fill_completely(taker)) {
    taker.status = order_status::rejected;
    taker.sequence = ctx.next();
    ctx.out->emplace_back(taker);
    return kNoNode;
  }
  if (taker.post_only && would_take(taker.order_side, taker.price)) [[unlikely]] {
    taker.status = order_status::rejected;
    taker.reason = end_reason::would_take;
    taker.sequence = ctx.next();
    ctx.out->emplace_back(taker);
    return kNoNode;
  }

  const bool stopped = match(taker, ctx);
  return finish_taker(taker, stopped, key, ctx);
}

order_book::node_index order_book::finish_taker(order& taker, bool stopped, const id_key& key,
                                                command_context& ctx) {
  taker.sequence = ctx.next();  // after the trades and makers' events, before its deltas

  node_index rested = kNoNode;
  if (taker.remaining().value == 0) {
    taker.status = order_status::filled;
  } else if (stopped) [[unlikely]] {
    taker.status = order_status::cancelled;
    taker.reason = end_reason::self_trade_prevention;
  } else if (taker.type == order_type::limit && taker.tif == time_in_force::gtc) {
    taker.status = taker.filled.value > 0 ? order_status::partially_filled : order_status::open;
    rested = rest(taker, key);
    touch(taker.order_side, taker.price, nodes_[rested].level);
  } else {
    taker.status = order_status::cancelled;
  }
  ctx.out->emplace_back(taker);
  emit_level_deltas(ctx);
  return rested;
}

order_book::node_index order_book::amend(node_index n, price_ticks price, quantity_lots quantity,
                                         const id_key& key, command_context& ctx) {
  touched_.clear();
  order& resting = nodes_[n].state;
  const std::uint32_t level = nodes_[n].level;
  if (price == resting.price && quantity <= resting.quantity) {
    // A reduction keeps the order's place: only its level's total changes.
    levels_[level].total -= resting.quantity - quantity;
    resting.quantity = quantity;
    resting.amended = true;
    resting.updated_at = ctx.now;
    resting.sequence = ctx.next();
    ctx.out->emplace_back(resting);
    touch(resting.order_side, resting.price, level);
    emit_level_deltas(ctx);
    return n;
  }
  // Out of the book and in again as a taker: never two live copies, and a cross matches
  // now, in this command.
  order taker = resting;
  unlink(n);
  touch(taker.order_side, taker.price, level);
  taker.price = price;
  taker.quantity = quantity;
  taker.amended = true;
  taker.updated_at = ctx.now;
  taker.created_sequence = *ctx.last_sequence + 1;
  const bool stopped = match(taker, ctx);
  return finish_taker(taker, stopped, key, ctx);
}

void order_book::cancel(node_index n, command_context& ctx) {
  touched_.clear();
  order cancelled = nodes_[n].state;
  const std::uint32_t level = nodes_[n].level;
  if (level == kStopLevel) {
    remove_stop(n);  // not in a level: no delta
  } else {
    unlink(n);
    touch(cancelled.order_side, cancelled.price, level);
  }
  cancelled.status = order_status::cancelled;
  cancelled.updated_at = ctx.now;
  cancelled.sequence = ctx.next();
  ctx.out->emplace_back(cancelled);
  emit_level_deltas(ctx);
}

// --- stop orders ----------------------------------------------------------------------

bool order_book::stop_reached(side s, price_ticks stop) const noexcept {
  if (last_trade_price_.value == 0) return false;  // no trade yet: nothing reached
  return s == side::buy ? last_trade_price_ >= stop : last_trade_price_ <= stop;
}

bool order_book::triggers_before(side s, const stop_ref& a, const stop_ref& b) noexcept {
  if (a.stop != b.stop) return s == side::buy ? a.stop < b.stop : a.stop > b.stop;
  return a.created < b.created;
}

// Where `ref` goes in a side's list, sorted with the next to trigger at the back: every stop
// that triggers after it stands before.
std::vector<order_book::stop_ref>::iterator order_book::stop_position(std::vector<stop_ref>& list,
                                                                      side s, const stop_ref& ref) {
  return std::lower_bound(
      list.begin(), list.end(), ref,
      [s](const stop_ref& in, const stop_ref& r) { return triggers_before(s, r, in); });
}

order_book::node_index order_book::park(const order& o, const id_key& key) {
  const node_index n = allocate_node();
  order_node& node = nodes_[n];
  node.state = o;
  node.key = key;
  node.level = kStopLevel;
  node.prev = node.next = kNoNode;
  ++live_orders_;
  const stop_ref ref{o.stop_price, o.created_sequence, n};
  std::vector<stop_ref>& list = stops(o.order_side);
  list.insert(stop_position(list, o.order_side, ref), ref);
  list_client_order(n, o);
  return n;
}

void order_book::remove_stop(node_index n) {
  const order& o = nodes_[n].state;
  std::vector<stop_ref>& list = stops(o.order_side);
  const stop_ref ref{o.stop_price, o.created_sequence, n};
  auto it = stop_position(list, o.order_side, ref);
  while (it->node != n) ++it;  // (stop, created) is unique: found at once
  list.erase(it);
  free_node(n);
}

order_book::node_index order_book::place_stop(order& o, const id_key& key, command_context& ctx) {
  o.status = order_status::open;
  o.filled = quantity_lots{0};
  o.notional = 0;
  o.created_at = o.updated_at = ctx.now;
  o.created_sequence = *ctx.last_sequence + 1;
  o.sequence = ctx.next();
  node_index n = kNoNode;
  if (stop_reached(o.order_side, o.stop_price)) {
    // Binance's "would trigger immediately": refused as a state, as post_only's would_take.
    o.status = order_status::rejected;
    o.reason = end_reason::would_trigger;
  } else {
    n = park(o, key);
  }
  ctx.out->emplace_back(o);
  return n;
}

std::optional<order> order_book::take_triggered(id_key& key) {
  const stop_ref* next = nullptr;
  if (!buy_stops_.empty() && stop_reached(side::buy, buy_stops_.back().stop)) {
    next = &buy_stops_.back();
  }
  if (!sell_stops_.empty() && stop_reached(side::sell, sell_stops_.back().stop) &&
      (next == nullptr || sell_stops_.back().created < next->created)) {
    next = &sell_stops_.back();
  }
  if (next == nullptr) return std::nullopt;
  const node_index n = next->node;
  order o = nodes_[n].state;
  key = nodes_[n].key;
  stops(o.order_side).pop_back();
  free_node(n);
  return o;
}

order_book::node_index order_book::execute_triggered(order& taker, const id_key& key,
                                                     command_context& ctx) {
  touched_.clear();
  taker.triggered = true;
  taker.updated_at = ctx.now;
  taker.created_sequence = *ctx.last_sequence + 1;
  return run_taker(taker, key, ctx);
}

order_book::node_index order_book::restore_stop(const order& waiting, const id_key& key) {
  return park(waiting, key);
}

// --- the mass cancel ------------------------------------------------------------------

void order_book::touch_once(side s, price_ticks p, std::uint32_t level) {
  price_level& l = levels_[level];
  if (l.mark == touch_mark_) return;
  l.mark = touch_mark_;
  touched_.push_back({s, p, level});
}

std::size_t order_book::cancel_client(const client_id& client, command_context& ctx) {
  const std::vector<client_orders::entry> orders =
      clients_.take(client, live_orders_, client_lookup());
  if (orders.empty()) return 0;
  touched_.clear();
  if (++touch_mark_ == 0) {
    // After 2^32 mass cancels: no level may keep a mark equal to a new one.
    for (std::size_t i = 0; i < levels_.size(); ++i) levels_[i].mark = 0;
    touch_mark_ = 1;
  }
  for (const client_orders::entry& e : orders) {
    ctx.out->emplace_back(nodes_[e.node].state);
    order& o = std::get<order>(ctx.out->back());  // valid until the next event is added
    if (nodes_[e.node].level == kStopLevel) {
      remove_stop(e.node);
    } else {
      // Marked before unlink, which may free the level (a freed level is not reused within
      // this command: nothing is added).
      touch_once(o.order_side, o.price, nodes_[e.node].level);
      unlink(e.node);
    }
    o.status = order_status::cancelled;
    o.updated_at = ctx.now;
    o.sequence = ctx.next();
  }
  emit_level_deltas(ctx);
  return orders.size();
}

order_book::node_index order_book::restore(const order& resting, const id_key& key) {
  return rest(resting, key);
}

std::optional<price_ticks> order_book::best_bid() const {
  if (bids_.empty()) return std::nullopt;
  return bids_.back().price;
}

std::optional<price_ticks> order_book::best_ask() const {
  if (asks_.empty()) return std::nullopt;
  return asks_.back().price;
}

quantity_lots order_book::total_quantity(side s) const {
  quantity_lots total{0};
  for (const level_ref& r : side_levels(s)) total += levels_[r.level].total;
  return total;
}

std::string order_book::check_invariants() const {
  std::size_t counted_orders = 0;
  for (const side s : {side::buy, side::sell}) {
    const auto& refs = side_levels(s);
    const std::string name(to_string(s));
    for (std::size_t i = 0; i < refs.size(); ++i) {
      if (i > 0 && !worse_price(s, refs[i - 1].price, refs[i].price)) {
        return name + " levels not strictly sorted at index " + std::to_string(i);
      }
      const price_level& l = levels_[refs[i].level];
      if (l.price != refs[i].price) return name + " level ref price differs from level";
      quantity_lots sum{0};
      std::uint32_t count = 0;
      node_index prev = kNoNode;
      for (node_index n = l.head; n != kNoNode; n = nodes_[n].next) {
        const order_node& node = nodes_[n];
        const order& o = node.state;
        if (node.prev != prev) return name + " broken prev link in level";
        if (node.level != refs[i].level) return name + " node points to another level";
        if (o.price != l.price || o.order_side != s) return name + " order on the wrong level";
        if (o.remaining().value <= 0) return name + " resting order with nothing remaining";
        if (o.status != order_status::open && o.status != order_status::partially_filled) {
          return name + " resting order in a final state";
        }
        if (o.instrument != instrument_) return name + " order of another instrument";
        sum += o.remaining();
        ++count;
        prev = n;
      }
      if (l.tail != prev) return name + " level tail is not its last order";
      if (count == 0) return name + " empty level present";
      if (count != l.orders) return name + " level order count differs from its orders";
      if (sum != l.total) return name + " level total differs from the sum of its orders";
      counted_orders += count;
    }
  }
  // The waiting stops: each side in trigger order, none reached (a command that trades runs
  // every stop it reaches before it ends), each node a live stop of that side.
  for (const side s : {side::buy, side::sell}) {
    const std::vector<stop_ref>& list = stops(s);
    for (std::size_t i = 0; i < list.size(); ++i) {
      const stop_ref& r = list[i];
      if (r.node >= nodes_.size()) return "stop node past the pool";
      const order_node& node = nodes_[r.node];
      if (node.level != kStopLevel || node.key == id_key{}) return "stop list holds a non-stop";
      if (node.state.order_side != s || !node.state.waits_for_trigger() ||
          node.state.stop_price != r.stop || node.state.created_sequence != r.created) {
        return "stop list entry disagrees with its order";
      }
      if (stop_reached(s, r.stop)) return "a reached stop still waits";
      if (i > 0 && !triggers_before(s, r, list[i - 1])) return "stop list out of trigger order";
    }
    counted_orders += list.size();
  }
  if (counted_orders != live_orders_) return "live order count differs from resting orders";
  // Every resting order is listed exactly once, in its own client's list or in the pending
  // log (stale entries aside).
  std::size_t listed = 0;
  std::string wrong;
  clients_.for_each([&](const client_id* client, const std::vector<client_orders::entry>& l) {
    for (const client_orders::entry& e : l) {
      if (e.node >= nodes_.size()) {
        wrong = "client list entry past the node pool";
      } else if (const client_id* resting = client_of(e)) {
        if (client != nullptr && !(*resting == *client)) wrong = "order in another client's list";
        ++listed;
      }
    }
  });
  if (!wrong.empty()) return wrong;
  if (listed != live_orders_) {
    return "client lists hold " + std::to_string(listed) + " resting orders, the book " +
           std::to_string(live_orders_);
  }
  if (!bids_.empty() && !asks_.empty() && bids_.back().price >= asks_.back().price) {
    return "book is crossed";
  }
  return {};
}

}  // namespace matchd::engine
