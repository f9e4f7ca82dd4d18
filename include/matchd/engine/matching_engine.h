#pragma once

#include <matchd/engine/command.h>
#include <matchd/engine/errc.h>
#include <matchd/engine/event.h>
#include <matchd/engine/expiry_queue.h>
#include <matchd/engine/id_index.h>
#include <matchd/engine/instrument.h>
#include <matchd/engine/order_book.h>
#include <matchd/engine/reference_price.h>
#include <matchd/engine/venue_rules.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace matchd::engine {

struct engine_options {
  std::size_t expected_orders_per_book = 1 << 16;  // preallocated pool size per book
  // Ids the index is sized for up front (0: expected_orders_per_book per book). Ids of
  // finished orders count too: the index keeps every id ever accepted.
  std::size_t expected_ids = 0;
  std::size_t max_open_orders_per_book = 5'000'000;  // keeps level totals in int64
  // The retention horizon: a finished order's id may be forgotten (expire_finished) this
  // long after the command that finished it was received. 0 keeps every id for ever.
  timestamp_us retention_us = 0;
  // Instruments added at runtime (add_instrument): at most this many in all, each book
  // preallocated for this many orders (it grows in chunks beyond).
  std::size_t max_instruments = kDefaultMaxInstruments;
  std::size_t added_book_orders = 1024;
  fee_schedule fees{};  // every instrument's, runtime ones included
};

struct command_result {
  errc error = errc::ok;
  sequence_number sequence = 0;  // the command's last event's number; 0 when nothing changed

  constexpr bool ok() const noexcept { return error == errc::ok; }
};

// One command of a batch, by reference: exactly one is set, and the command must outlive
// the execute() call.
struct command_ref {
  const place_order* place = nullptr;
  const cancel_order* cancel = nullptr;
  const amend_order* amend = nullptr;
  const cancel_all_orders* cancel_all = nullptr;
};

// What execute() reports per command: its result and where its events end in the buffer
// (they start where the previous command's end, or at the buffer's size on entry).
struct batch_result {
  command_result result;
  std::size_t events_end = 0;
};

// Where the engine stands on an order id.
enum class order_presence : std::uint8_t { unknown, resting, finished };

// All books, the order-id index and the global counters. Every event takes the next
// number of one global sequence (a command's events are consecutive); trade ids increase
// by one per trade.
//
// Not thread-safe: one engine thread owns it; other threads only see its events.
class matching_engine {
 public:
  // Throws std::invalid_argument for 65,535 instruments or more (the id index keeps an
  // instrument in 16 bits).
  explicit matching_engine(std::vector<instrument> instruments, engine_options options = {});
  matching_engine(const matching_engine&) = delete;
  matching_engine& operator=(const matching_engine&) = delete;

  // Appends the command's events to `out`. On error nothing changed and nothing is
  // appended. A FOK order that cannot fill is not an error: it is created `rejected`.
  // Ownership: a cancel of a resting order whose client is outside `cmd.scope` is
  // order_not_found, as for an id never seen. A finished order's client is not kept, so
  // its cancel is order_not_open whatever the scope; the publish stage, which holds the
  // finished order, turns that into order_not_found for a foreign one.
  command_result place(const place_order& cmd, event_buffer& out);
  command_result cancel(const cancel_order& cmd, event_buffer& out);
  // Changes a resting order's price and/or quantity in one command (order_book::amend):
  // order_not_found as for a cancel (also for an order of another instrument than
  // `cmd.instrument`), order_not_open for a finished one, quantity_not_above_filled when
  // the new total would not leave anything to fill, would_take when a post_only order's
  // new price crosses. On error nothing changed.
  command_result amend(const amend_order& cmd, event_buffer& out);
  // Mass cancel: every open order of cmd.client (in cmd.instrument, or in every book in
  // instrument order), each book's in the order they rested: their cancelled states, then
  // that book's level deltas. An unknown instrument is unknown_instrument; a client with
  // no open order there is ok with no events and sequence 0.
  command_result cancel_all(const cancel_all_orders& cmd, event_buffer& out);

  // Runs `commands` in order with exactly the effects, results and events of calling
  // place/cancel/amend/cancel_all on each in turn, but faster: while one command runs, the
  // id-index lines of the commands kLookahead places later are already being fetched, so
  // the random access into the (tens of MB) index overlaps with matching instead of
  // stalling it.
  // `results` must be at least as long as `commands`.
  void execute(std::span<const command_ref> commands, std::span<batch_result> results,
               event_buffer& out);
  static constexpr std::size_t kLookahead = 8;

  // Sizes the id index for `ids` ids now, so it does not grow (and rehash) later.
  void reserve_ids(std::size_t ids) { ids_.reserve(ids); }

  // Recovery: resting orders in their original priority order (created_sequence
  // ascending), the ids of finished orders, then the counters.
  errc restore_resting(const order& o);
  // `finished_at`: the order's last update, from which its retention counts (oldest first).
  void restore_finished_id(std::string_view id, timestamp_us finished_at = 0);

  // The retention horizon (engine_options::retention_us): forgets up to `budget` ids of
  // orders finished at or before `now - retention_us`, oldest first, and passes each to
  // `forgotten(const order_id&)`. A forgotten id is unknown: a cancel of it is
  // order_not_found and a new order may take it. Bounded work: the caller (the engine
  // stage, on the engine thread) calls it once per pass. Returns how many were looked at.
  template <class F>
  std::size_t expire_finished(timestamp_us now, std::size_t budget, F&& forgotten) {
    if (options_.retention_us == 0) return 0;
    return finished_.expire_due(now - options_.retention_us, budget, [&](const order_id& id) {
      if (forget_finished(id)) forgotten(id);
    });
  }
  // Finished ids waiting for their horizon (for tests and the daemon's sizing).
  std::size_t finished_retained() const noexcept { return finished_.size(); }
  void restore_counters(sequence_number last_sequence, trade_id last_trade_id);

  // Venue commands (docs/api.md, Instruments). Each one that changes something takes the
  // next sequence number and emits no event (the engine stage reports it), so every order
  // after it in the sequence sees the change and none before it does. Unchanged (a halt of
  // a halted instrument): ok with sequence 0.
  //   add_instrument: instrument_exists (its symbol is taken), too_many_instruments. Its id
  //   is the next one; the instrument list and the books grow, nothing else moves.
  //   set_halted: unknown_instrument. While halted, placements are instrument_halted and
  //   cancels work as ever.
  command_result add_instrument(const instrument& ins);
  command_result set_halted(instrument_id id, bool halt);
  bool halted(instrument_id id) const { return rules_[id].halted; }
  // Recovery: an instrument added at runtime (no sequence taken), a halt, the last trade.
  errc restore_instrument(const instrument& ins);
  void restore_halted(instrument_id id, bool halt) { rules_[id].halted = halt; }
  void restore_last_trade(instrument_id id, price_ticks p) { books_[id]->restore_last_trade(p); }
  // The price the instrument's band is measured from (nullopt: none yet, no band check).
  std::optional<price_ticks> reference(instrument_id id) const {
    return reference_->of(id, *books_[id]);
  }
  // Replaces where reference prices come from (e.g. an index price); before any command.
  void use_reference(std::unique_ptr<reference_price> r) { reference_ = std::move(r); }

  const std::vector<instrument>& instruments() const { return instruments_; }
  std::optional<instrument_id> find_instrument(std::string_view symbol) const;
  const order_book& book(instrument_id id) const { return *books_[id]; }

  order_presence presence(std::string_view id) const;
  const order* find_resting(std::string_view id) const;

  sequence_number last_sequence() const { return sequence_; }
  // Every command from now on runs at this time or later (stamp()).
  timestamp_us clock() const noexcept { return clock_; }
  // Moves the clock to `now` when that is later: an idle engine says how far time has
  // passed with nothing happening, so that what comes after (the publish stage's candles)
  // knows a time bucket is complete. A command received earlier and run after this runs at
  // `now`, as one queued behind a later receipt already does.
  void advance_clock(timestamp_us now) noexcept {
    if (now > clock_) clock_ = now;
  }
  trade_id last_trade_id() const { return next_trade_id_ - 1; }

  // Book invariants plus the id index agreeing with the books. Empty when they hold.
  std::string check_invariants() const;

 private:
  // The time a command runs at: its receipt stamp, or the latest one seen when that is later.
  timestamp_us stamp(timestamp_us received) noexcept {
    if (received > clock_) clock_ = received;
    return clock_;
  }
  // Every id ever accepted is kept under a 128-bit keyed hash of its text: keys are
  // inline, hashed once per command, and with a per-process random seed collisions are
  // neither likely nor craftable (the index compares 80 of the bits, see id_index). An
  // entry names the book node the order rested in; the node holds the full key while the
  // order rests and none once freed, so a filled order reads as finished without the
  // index being touched, and no command acts on a node whose key is not its own.
  static constexpr std::uint16_t kFinished = id_entry::kFinished;

  id_key key_of(std::string_view id) const noexcept;
  bool is_resting(const id_entry& e, const id_key& key) const noexcept;
  command_result place_keyed(const place_order& cmd, const id_key& key, event_buffer& out);
  // The resting order `key` names, for a caller acting within `scope`: the lookup a cancel
  // and an amend share. order_not_found for an id never seen or an order out of scope,
  // order_not_open for a finished one.
  struct open_order {
    errc error = errc::ok;
    id_index::position slot;
    id_entry entry;
  };
  open_order find_open(const id_key& key, const client_scope& scope);
  command_result cancel_keyed(const cancel_order& cmd, const id_key& key, event_buffer& out);
  command_result amend_keyed(const amend_order& cmd, const id_key& key, event_buffer& out);
  // With a horizon: queues the orders the events out[from, end) finished.
  void note_finished(const event_buffer& out, std::size_t from, timestamp_us at);
  void trigger_stops(instrument_id id, timestamp_us now, event_buffer& out);
  // The venue's rules for order `o` as if placed now at `price` and `quantity` (an amend, a
  // stop's trigger): the band measured from the reference price as it stands.
  rules_check check_now(instrument_id id, const order& o, price_ticks price,
                        quantity_lots quantity) const;
  bool forget_finished(const order_id& id);
  errc append_instrument(const instrument& ins, std::size_t book_orders);

  std::vector<instrument> instruments_;
  engine_options options_;
  std::vector<std::unique_ptr<order_book>> books_;
  std::vector<instrument_rules> rules_;  // per instrument, beside books_
  std::unique_ptr<reference_price> reference_ = std::make_unique<last_trade_reference>();
  id_index ids_;
  std::uint64_t seed_lo_;
  std::uint64_t seed_hi_;
  sequence_number sequence_ = 0;
  trade_id next_trade_id_ = 1;
  // The latest command time seen: a command stamped earlier than one already run (two I/O
  // threads' clocks, the queueing between stamp and engine) runs at this time instead, so
  // event times never go back in sequence order (stamp()).
  timestamp_us clock_ = 0;
  expiry_queue<order_id> finished_;  // with a horizon: finished ids, oldest first
};

}  // namespace matchd::engine
