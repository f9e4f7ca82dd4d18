// Drives the engine and a deliberately naive reference model with the same random
// commands and compares everything after every command: the result, every event, the
// whole book. The model is written from docs/api.md's rules, not from the engine: sorted maps
// of FIFO queues, linear scans, no pools, no caches, so it is easy to see it is right.
//
// The seed is fixed so failures reproduce; set MATCHD_TEST_SEED=<n> to try another one
// and MATCHD_TEST_COMMANDS=<n> to run longer.

#include <gtest/gtest.h>
#include <matchd/engine/matching_engine.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "builders.h"

namespace matchd::engine {
namespace {

using namespace test_support;

constexpr instrument_id kBtc = 0;

// What one command did, as comparable text, each kind in emission order. Every event
// carries its own number of the global sequence, so equal texts also mean the same
// interleaving of the kinds.
struct outcome {
  errc error = errc::ok;
  sequence_number sequence = 0;
  std::vector<std::string> trades;
  std::vector<std::string> orders;
  std::vector<std::string> deltas;
  std::optional<order> taker;  // engine side only: the placed order's final state
  // Engine side only: stops the command triggered, and their states.
  std::size_t triggered = 0;
  std::vector<order> triggered_endings;
};

outcome rejected(errc e) {
  outcome result;
  result.error = e;
  return result;
}

// ---------------------------------------------------------------------------------------
// The reference model.

class reference_model {
 public:
  // The venue's rules of the instrument (docs/api.md, Price bands): its band and max notional.
  explicit reference_model(const instrument& ins = instrument::btc_usd()) : instrument_(ins) {}

  outcome place(const place_order& cmd) {
    const std::string id(cmd.id.view());
    if (halted_) return rejected(errc::instrument_halted);
    if (orders_.contains(id)) return rejected(errc::duplicate_order_id);
    if (cmd.type == order_type::limit && too_large(cmd.price.value, cmd.quantity.value, 0)) {
      return rejected(errc::notional_too_large);
    }
    // The band is measured from the reference when the order arrives, not from its own fills.
    // A stop meets it when it triggers.
    const std::optional<std::int64_t> reference = last_trade_;
    const bool stop = cmd.stop_price.value != 0;
    if (!stop && cmd.type == order_type::limit && out_of_band(cmd.price.value, reference)) {
      return rejected(errc::price_out_of_band);
    }

    // Every event takes the next number. Time priority is the command's first number,
    // whichever event ends up carrying it.
    outcome result;
    order taker = new_order(cmd, sequence_ + 1);
    if (stop) {
      // Reached already: refused as a state. Otherwise it waits, open, outside the book.
      if (reached(taker.order_side, taker.stop_price.value)) {
        taker.status = order_status::rejected;
        taker.reason = end_reason::would_trigger;
      } else {
        stops_.push_back(id);
      }
      record_final(taker, result);
      return result;
    }

    if (cmd.tif == time_in_force::fok && cmd.type == order_type::limit &&
        fillable_quantity(taker) < taker.quantity.value) {
      taker.status = order_status::rejected;
      record_final(taker, result);
      return result;
    }
    // Post-only: any cross at all on arrival, whoever's the resting order is.
    if (cmd.post_only && crosses_book(taker.order_side, taker.price.value)) {
      taker.status = order_status::rejected;
      taker.reason = end_reason::would_take;
      record_final(taker, result);
      return result;
    }
    std::vector<std::pair<side, std::int64_t>> touched;  // in touch order, each once
    take_and_finish(taker, touched, result, cmd.received_at, reference);
    run_triggered(result, cmd.received_at);
    return result;
  }

  // PATCH: a lower quantity at the same price keeps the place; anything else leaves the
  // book and comes back as a taker at the new price, with the command's first number as
  // its new time priority.
  outcome amend(const amend_order& cmd) {
    const std::string id(cmd.id.view());
    auto it = orders_.find(id);
    if (it == orders_.end()) return rejected(errc::order_not_found);
    order& o = it->second;
    if (is_final(o.status)) return rejected(errc::order_not_open);
    if (waits(o)) return rejected(errc::stop_not_triggered);
    const std::int64_t price = cmd.price.value != 0 ? cmd.price.value : o.price.value;
    const std::int64_t quantity = cmd.quantity.value != 0 ? cmd.quantity.value : o.quantity.value;
    if (quantity <= o.filled.value) return rejected(errc::quantity_not_above_filled);
    // The venue's rules, as for a new order, unless the amend only lowers the quantity.
    if (price != o.price.value || quantity > o.quantity.value) {
      if (halted_) return rejected(errc::instrument_halted);
      if (too_large(price, quantity, 0)) return rejected(errc::notional_too_large);
      if (out_of_band(price, last_trade_)) return rejected(errc::price_out_of_band);
    }
    if (o.post_only && price != o.price.value && crosses_book(o.order_side, price)) {
      return rejected(errc::would_take);
    }

    outcome result;
    if (price == o.price.value && quantity <= o.quantity.value) {
      o.quantity = quantity_lots{quantity};
      o.amended = true;
      o.updated_at = cmd.received_at;
      o.sequence = ++sequence_;
      result.orders.push_back(describe(o));
      result.deltas = deltas_for({{o.order_side, o.price.value}});
      result.sequence = sequence_;
      return result;
    }
    order taker = o;
    remove_from_book(taker);
    std::vector<std::pair<side, std::int64_t>> touched{{taker.order_side, taker.price.value}};
    taker.price = price_ticks{price};
    taker.quantity = quantity_lots{quantity};
    taker.amended = true;
    taker.updated_at = cmd.received_at;
    taker.created_sequence = sequence_ + 1;
    take_and_finish(taker, touched, result, cmd.received_at);
    run_triggered(result, cmd.received_at);
    return result;
  }

  outcome cancel(const cancel_order& cmd) {
    const std::string id(cmd.id.view());
    auto it = orders_.find(id);
    if (it == orders_.end()) return rejected(errc::order_not_found);
    order& o = it->second;
    if (is_final(o.status)) return rejected(errc::order_not_open);

    outcome result;
    const bool waiting = waits(o);
    if (waiting) {
      stops_.erase(std::find(stops_.begin(), stops_.end(), id));
    } else {
      remove_from_book(o);
    }
    o.status = order_status::cancelled;
    o.updated_at = cmd.received_at;
    o.sequence = ++sequence_;  // the cancelled state, then its level delta
    result.orders.push_back(describe(o));
    if (!waiting) result.deltas = deltas_for({{o.order_side, o.price.value}});
    result.sequence = sequence_;
    return result;
  }

  // halt or resume: a change takes the next number, a repeat changes nothing.
  outcome set_halted(bool halt) {
    outcome result;
    if (halted_ != halt) {
      halted_ = halt;
      result.sequence = ++sequence_;
    }
    return result;
  }
  bool halted() const { return halted_; }
  std::optional<std::int64_t> last_trade() const { return last_trade_; }

  // The mass cancel: every resting order of the client, oldest first (created_sequence),
  // each cancelled as by cancel() but with the deltas of all of them at the end, one per
  // level in the order first touched.
  outcome cancel_all(const cancel_all_orders& cmd) {
    if (cmd.instrument && *cmd.instrument != kBtc) return rejected(errc::unknown_instrument);
    std::vector<order*> mine;
    for (side s : {side::buy, side::sell}) {
      for (const auto& [price, queue] : book(s)) {
        for (const std::string& id : queue) {
          order& o = orders_.at(id);
          if (o.client == cmd.client) mine.push_back(&o);
        }
      }
    }
    for (const std::string& id : stops_) {
      if (orders_.at(id).client == cmd.client) mine.push_back(&orders_.at(id));
    }
    std::sort(mine.begin(), mine.end(), [](const order* a, const order* b) {
      return a->created_sequence < b->created_sequence;
    });
    outcome result;
    std::vector<std::pair<side, std::int64_t>> touched;
    for (order* o : mine) {
      const std::string id(o->id.view());
      const bool waiting = waits(*o);
      if (waiting) {
        stops_.erase(std::find(stops_.begin(), stops_.end(), id));
      } else {
        levels& own = book(o->order_side);
        std::deque<std::string>& queue = own.at(o->price.value);
        queue.erase(std::find(queue.begin(), queue.end(), id));
        if (queue.empty()) own.erase(o->price.value);
      }
      o->status = order_status::cancelled;
      o->updated_at = cmd.received_at;
      o->sequence = ++sequence_;
      result.orders.push_back(describe(*o));
      if (!waiting) touch(touched, o->order_side, o->price.value);
    }
    result.deltas = deltas_for(touched);
    result.sequence = mine.empty() ? 0 : sequence_;  // nothing cancelled: nothing changed
    return result;
  }

  bool knows(const std::string& id) const { return orders_.contains(id); }
  bool is_resting(const std::string& id) const {
    auto it = orders_.find(id);
    return it != orders_.end() && !is_final(it->second.status);
  }

  // Best level first.
  std::vector<level_snapshot> levels_of(side s) const {
    std::vector<level_snapshot> out;
    for (const auto& [price, queue] : book(s)) out.push_back(level_at(price, queue));
    if (s == side::buy) std::reverse(out.begin(), out.end());
    return out;
  }

  // Priority order: best price first, FIFO within a price.
  std::vector<const order*> resting_orders(side s) const {
    std::vector<const order*> out;
    std::vector<const std::deque<std::string>*> queues;
    for (const auto& [price, queue] : book(s)) queues.push_back(&queue);
    if (s == side::buy) std::reverse(queues.begin(), queues.end());
    for (const auto* queue : queues) {
      for (const std::string& id : *queue) out.push_back(&orders_.at(id));
    }
    return out;
  }

  // The waiting stops, by id.
  std::vector<const order*> waiting_stops() const {
    std::vector<std::string> ids = stops_;
    std::sort(ids.begin(), ids.end());
    std::vector<const order*> out;
    for (const std::string& id : ids) out.push_back(&orders_.at(id));
    return out;
  }

  // Resting orders and waiting stops, as order_book::order_count() counts them.
  std::size_t resting_count() const {
    std::size_t n = stops_.size();
    for (side s : {side::buy, side::sell}) {
      for (const auto& [price, queue] : book(s)) n += queue.size();
    }
    return n;
  }

  sequence_number last_sequence() const { return sequence_; }
  trade_id last_trade_id() const { return last_trade_id_; }

 private:
  using levels = std::map<std::int64_t, std::deque<std::string>>;  // price -> ids, FIFO

  void remove_from_book(const order& o) {
    levels& own = book(o.order_side);
    std::deque<std::string>& queue = own.at(o.price.value);
    queue.erase(std::find(queue.begin(), queue.end(), std::string(o.id.view())));
    if (queue.empty()) own.erase(o.price.value);
  }

  bool crosses_book(side s, std::int64_t price) const {
    const levels& makers = book(opposite(s));
    if (makers.empty()) return false;
    const std::int64_t best =
        s == side::buy ? makers.begin()->first : std::prev(makers.end())->first;
    return s == side::buy ? best <= price : best >= price;
  }

  // A command's last state of `o` that did not match (refused as a state, or a waiting
  // stop): the next number, kept, and the command's last event.
  void record_final(order& o, outcome& result) {
    o.sequence = ++sequence_;
    result.orders.push_back(describe(o));
    orders_[std::string(o.id.view())] = o;
    result.sequence = sequence_;
  }

  static bool waits(const order& o) { return o.stop_price.value != 0 && !o.triggered; }

  // A stop of side `s` at `stop` is reached when the last trade is at or beyond it.
  bool reached(side s, std::int64_t stop) const {
    if (!last_trade_) return false;
    return s == side::buy ? *last_trade_ >= stop : *last_trade_ <= stop;
  }

  // After a command's trades: every stop they reach runs, one at a time, each as a new
  // order of its type would (its trades may reach more). Which first: of the buy stops
  // reached the lowest, of the sells the highest, equal ones by placement; between the
  // two sides, the one placed first.
  void run_triggered(outcome& result, timestamp_us now) {
    while (true) {
      const order* next = nullptr;
      auto before = [](const order& a, const order& b) {
        if (a.order_side != b.order_side) return a.created_sequence < b.created_sequence;
        if (a.stop_price != b.stop_price) {
          return a.order_side == side::buy ? a.stop_price < b.stop_price
                                           : a.stop_price > b.stop_price;
        }
        return a.created_sequence < b.created_sequence;
      };
      // Per side first, then across: the best of each side, then the earlier placed.
      const order* best[2] = {nullptr, nullptr};
      for (const std::string& id : stops_) {
        const order& o = orders_.at(id);
        if (!reached(o.order_side, o.stop_price.value)) continue;
        const order*& b = best[o.order_side == side::buy ? 0 : 1];
        if (b == nullptr || before(o, *b)) b = &o;
      }
      next = best[0];
      if (best[1] != nullptr &&
          (next == nullptr || best[1]->created_sequence < next->created_sequence)) {
        next = best[1];
      }
      if (next == nullptr) return;
      const std::string id(next->id.view());
      stops_.erase(std::find(stops_.begin(), stops_.end(), id));
      order taker = orders_.at(id);
      taker.triggered = true;
      taker.updated_at = now;
      const std::optional<std::int64_t> reference = last_trade_;
      if (taker.type == order_type::limit && out_of_band(taker.price.value, reference)) {
        taker.status = order_status::cancelled;
        taker.reason = end_reason::price_band;
        record_final(taker, result);
        continue;
      }
      taker.created_sequence = sequence_ + 1;
      if (taker.tif == time_in_force::fok && taker.type == order_type::limit &&
          fillable_quantity(taker) < taker.quantity.value) {
        taker.status = order_status::rejected;
        record_final(taker, result);
        continue;
      }
      std::vector<std::pair<side, std::int64_t>> touched;
      take_and_finish(taker, touched, result, now, reference);
    }
  }

  // Matches `taker` against the book (self-trade prevention included), then ends or rests
  // it and records its final state and the touched levels' deltas.
  // A market taker also stops before a level beyond the band around `reference` and before
  // a fill that would take it past the max notional (docs/api.md, Price bands).
  void take_and_finish(order& taker, std::vector<std::pair<side, std::int64_t>>& touched,
                       outcome& result, timestamp_us now,
                       std::optional<std::int64_t> reference = std::nullopt) {
    const std::string id(taker.id.view());
    bool stopped = false;  // self-trade prevention ended the taker
    while (!stopped && taker.remaining().value > 0) {
      levels& makers = book(opposite(taker.order_side));
      if (makers.empty()) break;
      // Best ask is the lowest price, best bid the highest.
      auto best = taker.order_side == side::buy ? makers.begin() : std::prev(makers.end());
      if (!crosses(taker, best->first)) break;

      order& maker = orders_.at(best->second.front());
      const bool own = taker.stp != stp_mode::none && maker.client == taker.client;
      if (taker.type == order_type::market) {
        if (beyond_band(taker.order_side, best->first, reference)) {
          taker.reason = end_reason::price_band;
          break;
        }
        const std::int64_t fill = std::min(taker.remaining().value, maker.remaining().value);
        if (!own && too_large(best->first, fill, taker.notional)) {
          taker.reason = end_reason::max_notional;
          break;
        }
      }
      touch(touched, maker.order_side, best->first);
      if (own) {
        if (taker.stp == stp_mode::cancel_taker) {
          stopped = true;
          break;
        }
        best->second.pop_front();
        if (best->second.empty()) makers.erase(best);
        maker.status = order_status::cancelled;
        maker.reason = end_reason::self_trade_prevention;
        maker.updated_at = now;
        maker.sequence = ++sequence_;
        result.orders.push_back(describe(maker));
        stopped = taker.stp == stp_mode::cancel_both;
        continue;
      }
      const std::int64_t fill = std::min(taker.remaining().value, maker.remaining().value);
      last_trade_ = best->first;
      // The trade's number, then the maker's new state's number.
      result.trades.push_back(describe(make_trade(taker, maker, fill, now)));
      apply_fill(maker, best->first, fill, now);
      apply_fill(taker, best->first, fill, now);
      maker.sequence = ++sequence_;
      result.orders.push_back(describe(maker));

      if (maker.remaining().value == 0) {
        best->second.pop_front();
        if (best->second.empty()) makers.erase(best);
      }
    }

    if (taker.remaining().value == 0) {
      taker.status = order_status::filled;
    } else if (stopped) {
      taker.status = order_status::cancelled;
      taker.reason = end_reason::self_trade_prevention;
    } else if (taker.type == order_type::limit && taker.tif == time_in_force::gtc) {
      taker.status = taker.filled.value > 0 ? order_status::partially_filled : order_status::open;
      book(taker.order_side)[taker.price.value].push_back(id);
      touch(touched, taker.order_side, taker.price.value);
    } else {
      taker.status = order_status::cancelled;  // market or IOC remainder
    }
    taker.sequence = ++sequence_;  // the taker's final state, after every fill
    result.orders.push_back(describe(taker));
    orders_[id] = taker;
    // Last, one number each (after a triggered stop, after the deltas before it).
    const std::vector<std::string> deltas = deltas_for(touched);
    result.deltas.insert(result.deltas.end(), deltas.begin(), deltas.end());
    result.sequence = sequence_;  // the command's last event
  }

  static order new_order(const place_order& cmd, sequence_number created_sequence) {
    order o;
    o.id = cmd.id;
    o.client = cmd.client;
    o.instrument = cmd.instrument;
    o.order_side = cmd.order_side;
    o.type = cmd.type;
    // A market order never rests, so the engine records it as IOC whatever it was sent.
    o.tif = cmd.type == order_type::market ? time_in_force::ioc : cmd.tif;
    o.price = cmd.type == order_type::limit ? cmd.price : price_ticks{0};
    o.quantity = cmd.quantity;
    o.created_at = cmd.received_at;
    o.updated_at = cmd.received_at;
    o.created_sequence = created_sequence;
    o.sequence = 0;  // set when its state is emitted
    o.stp = cmd.stp;
    o.post_only = cmd.post_only;
    o.stop_price = cmd.stop_price;
    return o;
  }

  static bool crosses(const order& taker, std::int64_t maker_price) {
    if (taker.type == order_type::market) return true;
    return taker.order_side == side::buy ? maker_price <= taker.price.value
                                         : maker_price >= taker.price.value;
  }

  // What a FOK taker could fill, in priority order: its own orders fill nothing, and
  // unless its stp is cancel_maker (or none) matching would stop at the first of them.
  std::int64_t fillable_quantity(const order& taker) const {
    std::vector<const std::deque<std::string>*> crossing;  // best first
    for (const auto& [price, queue] : book(opposite(taker.order_side))) {
      if (crosses(taker, price)) crossing.push_back(&queue);
    }
    if (taker.order_side == side::sell) std::reverse(crossing.begin(), crossing.end());
    std::int64_t total = 0;
    for (const auto* queue : crossing) {
      for (const std::string& id : *queue) {
        const order& maker = orders_.at(id);
        if (taker.stp != stp_mode::none && maker.client == taker.client) {
          if (taker.stp == stp_mode::cancel_maker) continue;
          return total;
        }
        total += maker.remaining().value;
      }
    }
    return total;
  }

  trade make_trade(const order& taker, const order& maker, std::int64_t fill, timestamp_us now) {
    const order& buyer = taker.order_side == side::buy ? taker : maker;
    const order& seller = taker.order_side == side::buy ? maker : taker;
    trade t;
    t.id = ++last_trade_id_;
    t.instrument = taker.instrument;
    t.price = maker.price;
    t.quantity = quantity_lots{fill};
    t.aggressor = taker.order_side;
    t.buy_order_id = buyer.id;
    t.sell_order_id = seller.id;
    t.executed_at = now;
    t.sequence = ++sequence_;
    return t;
  }

  static void apply_fill(order& o, std::int64_t price, std::int64_t fill, timestamp_us now) {
    o.filled += quantity_lots{fill};
    o.notional += int128{price} * fill;
    o.status = o.remaining().value == 0 ? order_status::filled : order_status::partially_filled;
    o.updated_at = now;
  }

  static void touch(std::vector<std::pair<side, std::int64_t>>& touched, side s,
                    std::int64_t price) {
    if (std::find(touched.begin(), touched.end(), std::pair{s, price}) == touched.end()) {
      touched.emplace_back(s, price);
    }
  }

  level_snapshot level_at(std::int64_t price, const std::deque<std::string>& queue) const {
    level_snapshot l{price, 0, 0};
    for (const std::string& id : queue) {
      l.quantity += orders_.at(id).remaining().value;
      ++l.orders;
    }
    return l;
  }

  // One delta per touched level, in touch order, each taking the next number.
  std::vector<std::string> deltas_for(const std::vector<std::pair<side, std::int64_t>>& touched) {
    std::vector<std::string> out;
    for (const auto& [s, price] : touched) {
      const levels& l = book(s);
      auto it = l.find(price);
      const level_snapshot now =
          it == l.end() ? level_snapshot{price, 0, 0} : level_at(price, it->second);
      level_delta d;
      d.instrument = kBtc;
      d.level_side = s;
      d.price = price_ticks{price};
      d.quantity = quantity_lots{now.quantity};
      d.orders = now.orders;
      d.sequence = ++sequence_;
      out.push_back(describe(d));
    }
    return out;
  }

  levels& book(side s) { return s == side::buy ? bids_ : asks_; }
  const levels& book(side s) const { return s == side::buy ? bids_ : asks_; }

  // price x quantity in quote units beyond the max notional, written out in decimal units:
  // price_ticks x tick x lots x lot > max_notional x 10^quantity_scale.
  bool too_large(std::int64_t price, std::int64_t quantity, int128 notional_so_far) const {
    if (instrument_.max_notional_units == 0) return false;
    const int128 tick_lots = notional_so_far + int128{price} * quantity;
    int128 limit = instrument_.max_notional_units;
    for (int i = 0; i < instrument_.quantity_scale; ++i) limit *= 10;
    return tick_lots * instrument_.tick_units * instrument_.lot_units > limit;
  }
  // More than band_bps from the last trade, either way; no trade yet, no band.
  bool out_of_band(std::int64_t price, std::optional<std::int64_t> reference) const {
    if (instrument_.band_bps == 0 || !reference) return false;
    const int128 distance = price > *reference ? price - *reference : *reference - price;
    return distance * 10'000 > int128{instrument_.band_bps} * *reference;
  }
  // For a market order: a buy above the band, a sell below it.
  bool beyond_band(side taker_side, std::int64_t price,
                   std::optional<std::int64_t> reference) const {
    if (!out_of_band(price, reference)) return false;
    return taker_side == side::buy ? price > *reference : price < *reference;
  }

  instrument instrument_;
  bool halted_ = false;
  std::optional<std::int64_t> last_trade_;
  levels bids_;
  levels asks_;
  std::unordered_map<std::string, order> orders_;  // every order ever accepted
  std::vector<std::string> stops_;                 // the stops waiting, in no order
  sequence_number sequence_ = 0;
  trade_id last_trade_id_ = 0;
};

// ---------------------------------------------------------------------------------------
// Running a command on the engine and comparing.

struct command {
  std::optional<place_order> place;
  std::optional<cancel_order> cancel;
  std::optional<bool> halt;  // a venue command: halt (true) or resume (false)
  std::optional<amend_order> amend;
  std::optional<cancel_all_orders> cancel_all;
};

std::string describe_command(const command& c) {
  if (c.halt) return *c.halt ? "halt" : "resume";
  if (c.cancel) return "cancel " + std::string(c.cancel->id.view());
  if (c.amend) {
    return "amend " + std::string(c.amend->id.view()) +
           " price=" + std::to_string(c.amend->price.value) +
           " qty=" + std::to_string(c.amend->quantity.value);
  }
  if (c.cancel_all) {
    return "cancel_all " + std::string(c.cancel_all->client.view()) +
           (c.cancel_all->instrument ? " ins=" + std::to_string(*c.cancel_all->instrument)
                                     : std::string(" every instrument"));
  }
  const place_order& p = *c.place;
  return "place " + std::string(p.id.view()) + " " + std::string(p.client.view()) + " " +
         std::string(to_string(p.order_side)) + " " + std::string(to_string(p.type)) + " " +
         std::string(to_string(p.tif)) + " price=" + std::to_string(p.price.value) +
         " qty=" + std::to_string(p.quantity.value) + " stp=" + std::string(to_string(p.stp)) +
         (p.post_only ? " post_only" : "");
}

// Runs `c` on the engine and returns its outcome in the model's terms; `shape_error`
// reports events emitted out of the documented order (deltas last, taker state last
// before them) or numbered against the sequence contract (each event the next number of
// the counter, the result the last of them; a refused command emits nothing and takes
// no number).
outcome run_on_engine(matching_engine& engine, const command& c, std::string& shape_error) {
  if (c.halt) {
    const sequence_number before = engine.last_sequence();
    const command_result r = engine.set_halted(kBtc, *c.halt);
    outcome result;
    result.error = r.error;
    result.sequence = r.sequence;
    if (engine.last_sequence() != (r.sequence == 0 ? before : before + 1) ||
        (r.sequence != 0 && r.sequence != before + 1)) {
      shape_error = "a venue command took other than one number, or none when unchanged";
    }
    return result;
  }
  std::unordered_set<std::string> waiting_before;  // the stops waiting before the command
  engine.book(kBtc).for_each_stop(
      [&](const order& o) { waiting_before.insert(std::string(o.id.view())); });
  event_buffer events;
  const sequence_number before = engine.last_sequence();
  const command_result r = c.place    ? engine.place(*c.place, events)
                           : c.cancel ? engine.cancel(*c.cancel, events)
                           : c.amend  ? engine.amend(*c.amend, events)
                                      : engine.cancel_all(*c.cancel_all, events);
  outcome result;
  result.error = r.error;
  result.sequence = r.sequence;
  sequence_number expected_number = before;
  for (const event& e : events) {
    const sequence_number number = std::visit([](const auto& v) { return v.sequence; }, e);
    if (number != ++expected_number && shape_error.empty()) {
      shape_error = "event numbered " + std::to_string(number) + ", expected " +
                    std::to_string(expected_number) + ": " + describe(e);
    }
  }
  // A mass cancel that finds nothing succeeds without an event or a number.
  const bool nothing_to_do = c.cancel_all && r.ok() && events.empty();
  if (shape_error.empty()) {
    if (nothing_to_do) {
      if (r.sequence != 0 || engine.last_sequence() != before) {
        shape_error = "a mass cancel of nothing reported a number or moved the counter";
      }
    } else if (!r.ok() &&
               (!events.empty() || r.sequence != 0 || engine.last_sequence() != before)) {
      shape_error = "a refused command emitted events, reported a number or moved the counter";
    } else if (r.ok() && (events.empty() || r.sequence != expected_number ||
                          engine.last_sequence() != expected_number)) {
      shape_error = "result sequence " + std::to_string(r.sequence) + " / last_sequence " +
                    std::to_string(engine.last_sequence()) + " is not the last event's number " +
                    std::to_string(expected_number);
    }
  }
  // A command's events come in segments: its own, then one per stop it triggered (docs/api.md,
  // Stop orders). A segment ends with its taker's state and then its level deltas; the
  // taker of a stop's segment is the first stop that waited before the command and has an
  // order state in it.
  const bool has_taker = (c.place || c.amend) && r.ok();
  std::vector<std::string> takers;
  if (has_taker) takers.emplace_back(c.place ? c.place->id.view() : c.amend->id.view());
  bool seen_delta = false;
  bool taker_done = false;  // the current segment's taker state was seen
  std::string current = has_taker ? takers.front() : std::string();
  for (const event& e : events) {
    const bool is_delta = std::holds_alternative<level_delta>(e);
    if (!is_delta && (taker_done || (seen_delta && has_taker))) {
      if (!taker_done) shape_error = "a segment ended without its taker's state: " + describe(e);
      current.clear();  // the next stop's segment
      taker_done = false;
      seen_delta = false;
    }
    if (seen_delta && !is_delta) shape_error = "event after a level delta: " + describe(e);
    seen_delta = seen_delta || is_delta;
    const auto* o = std::get_if<order>(&e);
    if (o == nullptr || !has_taker) continue;
    const std::string id(o->id.view());
    if (current.empty() && waiting_before.contains(id) &&
        std::find(takers.begin(), takers.end(), id) == takers.end()) {
      current = id;
      takers.push_back(id);
      ++result.triggered;
    }
    if (id == current) taker_done = true;
  }
  if (has_taker && !taker_done) shape_error = "the last segment ended without its taker's state";
  for (const event& e : events) {
    if (const auto* t = std::get_if<trade>(&e)) result.trades.push_back(describe(*t));
    if (const auto* o = std::get_if<order>(&e)) {
      result.orders.push_back(describe(*o));
      if ((c.place && o->id == c.place->id) || (c.amend && o->id == c.amend->id)) {
        result.taker = *o;
      }
      if (o->triggered && waiting_before.contains(std::string(o->id.view()))) {
        result.triggered_endings.push_back(*o);
      }
    }
    if (const auto* d = std::get_if<level_delta>(&e)) result.deltas.push_back(describe(*d));
  }
  return result;
}

template <class T>
std::string first_difference(const char* what, const std::vector<T>& engine_side,
                             const std::vector<T>& model_side) {
  if (engine_side == model_side) return "";
  std::string s = std::string(what) + " differ\n  engine:";
  for (const auto& x : engine_side) s += "\n    " + ::testing::PrintToString(x);
  s += "\n  model:";
  for (const auto& x : model_side) s += "\n    " + ::testing::PrintToString(x);
  return s;
}

std::string compare_outcomes(const outcome& engine_side, const outcome& model_side) {
  if (engine_side.error != model_side.error) {
    return "error " + ::testing::PrintToString(engine_side.error) + " but model says " +
           ::testing::PrintToString(model_side.error);
  }
  if (engine_side.sequence != model_side.sequence) {
    return "sequence " + std::to_string(engine_side.sequence) + " but model says " +
           std::to_string(model_side.sequence);
  }
  for (std::string d : {first_difference("trades", engine_side.trades, model_side.trades),
                        first_difference("order states", engine_side.orders, model_side.orders),
                        first_difference("level deltas", engine_side.deltas, model_side.deltas)}) {
    if (!d.empty()) return d;
  }
  return "";
}

std::string same_resting_order(const order& e, const order& m) {
  if (e.id == m.id && e.client == m.client && e.instrument == m.instrument &&
      e.order_side == m.order_side && e.type == m.type && e.tif == m.tif && e.status == m.status &&
      e.price == m.price && e.quantity == m.quantity && e.filled == m.filled &&
      e.notional == m.notional && e.created_at == m.created_at && e.updated_at == m.updated_at &&
      e.created_sequence == m.created_sequence && e.sequence == m.sequence && e.stp == m.stp &&
      e.post_only == m.post_only && e.amended == m.amended && e.reason == m.reason &&
      e.stop_price == m.stop_price && e.triggered == m.triggered) {
    return "";
  }
  return "resting order differs\n  engine: " + describe(e) + "\n  model:  " + describe(m);
}

// The whole book against the model, plus the engine's own invariants. The engine-wide
// check also walks the id index, which holds every id ever seen and so grows with the
// run; `with_id_index` asks for it only now and then to keep the test linear.
std::string compare_books(const matching_engine& engine, const reference_model& model,
                          bool with_id_index) {
  if (std::string broken = engine.book(kBtc).check_invariants(); !broken.empty()) {
    return "order_book::check_invariants: " + broken;
  }
  if (with_id_index) {
    if (std::string broken = engine.check_invariants(); !broken.empty()) {
      return "matching_engine::check_invariants: " + broken;
    }
  }
  if (engine.last_sequence() != model.last_sequence()) return "last_sequence differs";
  if (engine.last_trade_id() != model.last_trade_id()) return "last_trade_id differs";
  const order_book& book = engine.book(kBtc);
  if (book.order_count() != model.resting_count()) return "order_count differs";

  for (side s : {side::buy, side::sell}) {
    const std::vector<level_snapshot> levels = levels_of(book, s);
    if (std::string d = first_difference("levels", levels, model.levels_of(s)); !d.empty()) {
      return d;
    }
    const std::optional<price_ticks> best = s == side::buy ? book.best_bid() : book.best_ask();
    if (best.has_value() != !levels.empty() || (best && best->value != levels.front().price)) {
      return std::string("best price of ") + std::string(to_string(s)) + " differs";
    }
    if (book.level_count(s) != levels.size()) return "level_count differs from the levels";

    std::vector<const order*> resting;
    book.for_each_order(s, [&](const order& o) { resting.push_back(&o); });
    const std::vector<const order*> expected = model.resting_orders(s);
    if (resting.size() != expected.size()) return "number of resting orders differs";
    std::int64_t remaining_sum = 0;
    for (std::size_t i = 0; i < resting.size(); ++i) {
      if (std::string d = same_resting_order(*resting[i], *expected[i]); !d.empty()) return d;
      remaining_sum += resting[i]->remaining().value;
    }

    std::int64_t level_sum = 0;
    for (const level_snapshot& l : levels) {
      if (l.quantity <= 0 || l.orders == 0) return "empty level listed";
      level_sum += l.quantity;
    }
    if (level_sum != remaining_sum || book.total_quantity(s).value != level_sum) {
      return "level totals " + std::to_string(level_sum) + ", total_quantity " +
             std::to_string(book.total_quantity(s).value) + ", resting remaining " +
             std::to_string(remaining_sum);
    }
  }
  std::vector<const order*> stops;
  book.for_each_stop([&](const order& o) { stops.push_back(&o); });
  std::sort(stops.begin(), stops.end(),
            [](const order* a, const order* b) { return a->id.view() < b->id.view(); });
  const std::vector<const order*> expected_stops = model.waiting_stops();
  if (stops.size() != expected_stops.size()) return "number of waiting stops differs";
  for (std::size_t i = 0; i < stops.size(); ++i) {
    if (std::string d = same_resting_order(*stops[i], *expected_stops[i]); !d.empty()) return d;
  }
  if (book.best_bid() && book.best_ask() && !(*book.best_bid() < *book.best_ask())) {
    return "crossed book: bid " + std::to_string(book.best_bid()->value) + " >= ask " +
           std::to_string(book.best_ask()->value);
  }
  return "";
}

// Rebuilds an engine from another the way recovery does.
std::unique_ptr<matching_engine> restored_copy(const matching_engine& original,
                                               const std::vector<std::string>& all_ids,
                                               const reference_model& model) {
  auto copy = std::make_unique<matching_engine>(original.instruments());
  copy->restore_halted(kBtc, model.halted());
  if (model.last_trade()) copy->restore_last_trade(kBtc, price_ticks{*model.last_trade()});
  std::vector<order> resting;
  for (side s : {side::buy, side::sell}) {
    original.book(kBtc).for_each_order(s, [&](const order& o) { resting.push_back(o); });
  }
  original.book(kBtc).for_each_stop([&](const order& o) { resting.push_back(o); });
  std::sort(resting.begin(), resting.end(),
            [](const order& a, const order& b) { return a.created_sequence < b.created_sequence; });
  for (const order& o : resting) EXPECT_EQ(copy->restore_resting(o), errc::ok);
  for (const std::string& id : all_ids) {
    if (model.knows(id) && !model.is_resting(id)) copy->restore_finished_id(id);
  }
  copy->restore_counters(original.last_sequence(), original.last_trade_id());
  return copy;
}

// ---------------------------------------------------------------------------------------
// Random commands.

struct scenario {
  int commands = 100'000;
  double cancel_share = 0.30;
  double crowded_cancel_share = 0.60;  // once the book holds more than `crowded` orders
  std::size_t crowded = 300;
  double market_share = 0.05;
  double ioc_share = 0.07;
  double fok_share = 0.07;
  std::int64_t max_lots = 10;
  std::int64_t max_sweep_lots = 60;
  std::int64_t max_market_sweep_lots = 60;
  double sweep_share = 0.10;
  // The venue's rules: the instrument (with its band and max notional, if any), and how
  // often a trading instrument is halted and a halted one resumed.
  std::string instrument_spec = "BTC-USD:0.01:0.00000001";
  double halt_share = 0.0;
  double resume_share = 0.0;
  double amend_share = 0.08;      // of the commands that are not cancels
  double post_only_share = 0.10;  // of GTC limit orders
  // Of placed orders: stp modes other than the default cancel_taker, each this share.
  double other_stp_share = 0.15;
  std::int64_t clients = 8;         // few, so orders often meet their own client's
  double stop_share = 0.06;         // of placed orders: stop_market or stop_limit
  double cancel_all_share = 0.005;  // mass cancels of one of the eight clients
};

class command_generator {
 public:
  command_generator(std::uint64_t seed, scenario sc) : rng_(seed), scenario_(sc) {}

  // Every id handed out for a new order, oldest first.
  const std::vector<std::string>& ids() const { return ids_; }

  command next(const reference_model& model) {
    now_ += 1 + pick(0, 50);
    if (chance(0.02)) mid_ += chance(0.5) ? 1 : -1;
    const double cancel_share = model.resting_count() > scenario_.crowded
                                    ? scenario_.crowded_cancel_share
                                    : scenario_.cancel_share;
    command c;
    if (chance(scenario_.cancel_all_share)) {
      cancel_all_orders cmd;
      cmd.client = client_id::from("client-" + std::to_string(pick(1, scenario_.clients)));
      // Mostly this book or every book; now and then an instrument that does not exist.
      const double where = uniform();
      if (where < 0.45) {
        cmd.instrument = kBtc;
      } else if (where < 0.5) {
        cmd.instrument = kBtc + 1;
      }
      cmd.received_at = now_;
      c.cancel_all = cmd;
      return c;
    }
    if (scenario_.halt_share > 0 &&
        chance(model.halted() ? scenario_.resume_share : scenario_.halt_share)) {
      // Now and then a repeat: halting a halted instrument changes nothing.
      c.halt = chance(0.05) ? model.halted() : !model.halted();
      return c;
    }
    if (chance(cancel_share)) {
      cancel_order cmd;
      cmd.id = order_id::from(cancel_target(model));
      cmd.received_at = now_;
      c.cancel = cmd;
      return c;
    }
    if (chance(scenario_.amend_share)) {
      amend_order cmd;
      cmd.id = order_id::from(cancel_target(model));
      cmd.instrument = kBtc;
      cmd.received_at = now_;
      const double what = uniform();  // price only, quantity only, or both
      if (what < 0.65) cmd.quantity = quantity_lots{pick(1, scenario_.max_lots + 2)};
      if (what >= 0.35) {
        const std::int64_t distance = pick(-4, 20);
        const std::int64_t price = chance(0.5) ? mid_ - distance : mid_ + distance;
        cmd.price = price_ticks{std::max<std::int64_t>(price, 1)};
      }
      c.amend = cmd;
      return c;
    }
    place_order cmd;
    cmd.id = order_id::from(chance(0.01) && !ids_.empty() ? any_id() : fresh_id());
    cmd.client = client_id::from("client-" + std::to_string(pick(1, scenario_.clients)));
    if (const double roll = uniform(); roll < 3 * scenario_.other_stp_share) {
      cmd.stp = roll < scenario_.other_stp_share       ? stp_mode::cancel_maker
                : roll < 2 * scenario_.other_stp_share ? stp_mode::cancel_both
                                                       : stp_mode::none;
    }
    cmd.instrument = kBtc;
    cmd.order_side = chance(0.5) ? side::buy : side::sell;
    cmd.quantity = quantity_lots{chance(scenario_.sweep_share) ? pick(1, scenario_.max_sweep_lots)
                                                               : pick(1, scenario_.max_lots)};
    cmd.received_at = now_;
    const double kind = uniform();
    if (kind < scenario_.market_share) {
      cmd.type = order_type::market;
      if (chance(scenario_.sweep_share)) {
        cmd.quantity = quantity_lots{pick(1, scenario_.max_market_sweep_lots)};
      }
    } else {
      cmd.type = order_type::limit;
      const bool immediate =
          kind < scenario_.market_share + scenario_.ioc_share + scenario_.fok_share;
      cmd.tif = !immediate                                            ? time_in_force::gtc
                : kind < scenario_.market_share + scenario_.ioc_share ? time_in_force::ioc
                                                                      : time_in_force::fok;
      // Distance from the mid on the passive side; negative distances cross the mid.
      const std::int64_t distance = immediate ? pick(-8, 3) : pick(-3, 25);
      const std::int64_t price = cmd.order_side == side::buy ? mid_ - distance : mid_ + distance;
      cmd.price = price_ticks{std::max<std::int64_t>(price, 1)};
      cmd.post_only = cmd.tif == time_in_force::gtc && chance(scenario_.post_only_share);
    }
    if (chance(scenario_.stop_share)) {
      // Mostly beyond the mid in the stop's direction (a few already reached: would_trigger),
      // a limit around the stop.
      const std::int64_t distance = pick(-2, 12);
      const std::int64_t stop = cmd.order_side == side::buy ? mid_ + distance : mid_ - distance;
      cmd.stop_price = price_ticks{std::max<std::int64_t>(stop, 1)};
      if (cmd.type == order_type::limit) {
        const std::int64_t slack = pick(-3, 6);
        cmd.price = price_ticks{
            std::max<std::int64_t>(cmd.order_side == side::buy ? stop + slack : stop - slack, 1)};
      }
      cmd.post_only = false;
    }
    c.place = cmd;
    return c;
  }

 private:
  std::string fresh_id() {
    ids_.push_back("o" + std::to_string(++id_counter_));
    return ids_.back();
  }
  std::string any_id() { return ids_[static_cast<std::size_t>(pick(0, ssize(ids_) - 1))]; }
  // Mostly a resting order, sometimes a finished one, sometimes an id never used.
  std::string cancel_target(const reference_model& model) {
    if (ids_.empty() || chance(0.05)) return "ghost-" + std::to_string(pick(0, 1'000'000));
    if (chance(0.2)) return any_id();
    const std::int64_t window = std::min<std::int64_t>(ssize(ids_), 1000);
    for (int attempt = 0; attempt < 16; ++attempt) {
      const std::string& id = ids_[static_cast<std::size_t>(ssize(ids_) - 1 - pick(0, window - 1))];
      if (model.is_resting(id)) return id;
    }
    return any_id();
  }

  std::int64_t pick(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
  }
  double uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }
  bool chance(double p) { return uniform() < p; }

  std::mt19937_64 rng_;
  scenario scenario_;
  std::int64_t mid_ = 10'000;  // 100.00
  timestamp_us now_ = 1'700'000'000'000'000;
  std::vector<std::string> ids_;  // every id handed out by fresh_id, in order
  std::uint64_t id_counter_ = 0;
};

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  return text != nullptr && *text != '\0' ? std::strtoull(text, nullptr, 10) : fallback;
}

struct run_stats {
  bool completed = false;  // every command ran and matched the model
  int commands = 0;
  std::uint64_t trades = 0;
  std::uint64_t errors = 0;
  std::size_t max_resting = 0;
  std::uint64_t mass_cancelled = 0;  // orders cancelled by mass cancels
  std::uint64_t triggered = 0;       // stops triggered
  std::uint64_t cascades = 0;        // commands that triggered two stops or more
  // How placed orders ended, e.g. "fok rejected", "market cancelled partly filled".
  std::map<std::string, std::uint64_t> endings;
  std::map<std::string, std::uint64_t> results;  // by errc code, "ok" included
  std::uint64_t venue_commands = 0;

  std::uint64_t result(const std::string& code) const {
    auto it = results.find(code);
    return it == results.end() ? 0 : it->second;
  }
  std::uint64_t ending(const std::string& name) const {
    auto it = endings.find(name);
    return it == endings.end() ? 0 : it->second;
  }
};

std::string ending_of(const order& o) {
  const std::string kind = o.type == order_type::market ? "market" : std::string(to_string(o.tif));
  const bool partly = o.filled.value > 0 && o.remaining().value > 0;
  return kind + " " + std::string(to_string(o.status)) + (partly ? " partly filled" : "") +
         (o.reason != end_reason::none ? " " + std::string(to_string(o.reason)) : "");
}

// Runs the scenario, rebuilding the engine through recovery halfway, and stops at the
// first difference with a message that says how to reproduce it.
run_stats run_against_model(std::uint64_t default_seed, scenario sc) {
  const std::uint64_t seed = env_number("MATCHD_TEST_SEED", default_seed);
  sc.commands = static_cast<int>(env_number("MATCHD_TEST_COMMANDS", sc.commands));
  const std::string reproduce = "seed " + std::to_string(seed) +
                                " (rerun with MATCHD_TEST_SEED=" + std::to_string(seed) + ")";
  SCOPED_TRACE(reproduce);

  const instrument ins = *instrument::parse_spec(sc.instrument_spec);
  auto engine = std::make_unique<matching_engine>(std::vector{ins});
  reference_model model(ins);
  command_generator generator(seed, sc);
  run_stats stats;
  std::vector<std::string> recent;  // the last few commands, for the failure message

  for (int i = 0; i < sc.commands; ++i) {
    if (i == sc.commands / 2) {
      engine = restored_copy(*engine, generator.ids(), model);
      const std::string after_restore = compare_books(*engine, model, true);
      EXPECT_EQ(after_restore, "") << "after restore at command " << i << ", " << reproduce;
      if (!after_restore.empty()) return stats;
    }
    const command c = generator.next(model);
    recent.push_back(std::to_string(i) + ": " + describe_command(c));
    if (recent.size() > 8) recent.erase(recent.begin());

    std::string shape_error;
    const outcome actual = run_on_engine(*engine, c, shape_error);
    const outcome expected = c.halt     ? model.set_halted(*c.halt)
                             : c.place  ? model.place(*c.place)
                             : c.cancel ? model.cancel(*c.cancel)
                             : c.amend  ? model.amend(*c.amend)
                                        : model.cancel_all(*c.cancel_all);
    std::string mismatch = compare_outcomes(actual, expected);
    if (mismatch.empty()) mismatch = shape_error;
    const bool with_id_index = i % 128 == 0 || i == sc.commands - 1;
    if (mismatch.empty()) mismatch = compare_books(*engine, model, with_id_index);
    if (!mismatch.empty()) {
      std::string history;
      for (const std::string& line : recent) history += "\n  " + line;
      ADD_FAILURE() << "command " << i << " (" << describe_command(c) << "): " << mismatch
                    << "\nlast commands:" << history << "\n"
                    << reproduce;
      return stats;
    }
    stats.trades += actual.trades.size();
    stats.errors += actual.error == errc::ok ? 0 : 1;
    ++stats.results[std::string(to_code(actual.error))];
    if (c.halt) ++stats.venue_commands;
    stats.max_resting = std::max(stats.max_resting, model.resting_count());
    if (actual.taker) {
      ++stats.endings[(c.amend ? "amended " : "") + ending_of(*actual.taker)];
    }
    if (c.amend) ++stats.endings[std::string("amend ") + std::string(to_code(actual.error))];
    for (const std::string& state : actual.orders) {
      if (state.find("reason=self_trade_prevention") != std::string::npos) {
        ++stats.endings["cancelled by self-trade prevention"];
      }
    }
    if (c.cancel_all) stats.mass_cancelled += actual.orders.size();
    stats.triggered += actual.triggered;
    if (actual.triggered >= 2) ++stats.cascades;
    for (const order& o : actual.triggered_endings) ++stats.endings["triggered " + ending_of(o)];
  }
  stats.completed = true;
  stats.commands = sc.commands;
  return stats;
}

TEST(randomized_reference, engine_matches_the_reference_model) {
  const scenario sc;
  const run_stats stats = run_against_model(20261121, sc);

  // Guard against a generator that stopped exercising the rules (at full length only).
  if (!stats.completed || stats.commands < sc.commands) return;
  EXPECT_GT(stats.trades, 10'000u);
  EXPECT_GT(stats.errors, 1'000u);
  EXPECT_GT(stats.max_resting, 100u);
  for (const char* ending :
       {"gtc open", "gtc filled", "gtc partially_filled partly filled", "ioc filled",
        "ioc cancelled", "ioc cancelled partly filled", "fok filled", "fok rejected",
        "market filled", "gtc rejected would_take", "gtc cancelled self_trade_prevention",
        "cancelled by self-trade prevention", "amended gtc open", "amended gtc filled", "amend ok",
        "amend order_not_open"}) {
    EXPECT_GT(stats.ending(ending), 100u) << ending;
  }
  EXPECT_GT(stats.mass_cancelled, 1'000u);
  // Stop orders: waiting, refused as reached, triggered into every ending, in cascades.
  EXPECT_GT(stats.triggered, 1'000u);
  EXPECT_GT(stats.cascades, 10u) << "commands that triggered two stops or more";
  for (const char* ending :
       {"gtc rejected would_trigger", "triggered market filled", "triggered gtc open",
        "triggered gtc filled", "amend stop_not_triggered"}) {
    EXPECT_GT(stats.ending(ending), 20u) << ending;
  }
  for (const char* ending : {"triggered fok rejected", "triggered ioc cancelled"}) {
    EXPECT_GT(stats.ending(ending), 0u) << ending;
  }
  for (const char* ending :
       {"amend quantity_not_above_filled", "amend would_take", "amend order_not_found",
        "amended gtc cancelled self_trade_prevention", "ioc cancelled self_trade_prevention"}) {
    EXPECT_GT(stats.ending(ending), 0u) << ending;
  }
}

// A thin book and large orders, so market orders and FOKs often run out of liquidity.
TEST(randomized_reference, engine_matches_the_reference_model_on_a_thin_book) {
  scenario sc;
  sc.commands = 30'000;
  sc.market_share = 0.10;
  sc.sweep_share = 0.25;
  sc.max_sweep_lots = 200;
  sc.max_market_sweep_lots = 600;
  sc.crowded = 40;
  sc.crowded_cancel_share = 0.70;
  const run_stats stats = run_against_model(7, sc);

  if (!stats.completed || stats.commands < sc.commands) return;
  EXPECT_GT(stats.trades, 5'000u);
  for (const char* ending : {"market cancelled partly filled", "market filled", "fok rejected",
                             "ioc cancelled partly filled"}) {
    EXPECT_GT(stats.ending(ending), 10u) << ending;
  }
  EXPECT_GT(stats.ending("market cancelled"), 0u) << "market order on an empty side";
  EXPECT_GT(stats.ending("triggered market cancelled partly filled"), 0u);
}

// The venue's rules mixed in: halts and resumes between the orders, a band of 10 bps
// (10 ticks around 100.00) that limit prices often break and market sweeps often reach, and a
// max notional of 4,000.00 (40 lots at 100.00) that large orders exceed. Lots of one unit, so
// the notional is reachable.
TEST(randomized_reference, engine_matches_the_reference_model_with_halts_and_bands) {
  scenario sc;
  sc.instrument_spec = "TEST-USD:0.01:1:band_bps=10:max_notional=4000";
  sc.halt_share = 0.003;
  sc.resume_share = 0.05;
  sc.market_share = 0.10;
  sc.sweep_share = 0.20;
  const run_stats stats = run_against_model(28, sc);

  if (!stats.completed || stats.commands < sc.commands) return;
  EXPECT_GT(stats.trades, 10'000u);
  EXPECT_GT(stats.venue_commands, 200u);
  for (const char* code :
       {"instrument_halted", "price_out_of_band", "notional_too_large", "duplicate_order_id"}) {
    EXPECT_GT(stats.result(code), 100u) << code;
  }
  for (const char* ending : {"market cancelled partly filled", "market filled", "gtc open",
                             "fok rejected", "ioc cancelled partly filled"}) {
    EXPECT_GT(stats.ending(ending), 50u) << ending;
  }
  // A stop_limit triggered beyond the band around its trigger's price; a stop_market that
  // stopped at it.
  EXPECT_GT(stats.ending("triggered gtc cancelled price_band"), 0u);
  EXPECT_GT(stats.ending("triggered market cancelled price_band"), 0u);
}

}  // namespace
}  // namespace matchd::engine
