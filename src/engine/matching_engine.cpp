#include <matchd/engine/hash_mix.h>
#include <matchd/engine/matching_engine.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <random>
#include <stdexcept>

namespace matchd::engine {

namespace {

constexpr std::uint64_t kMul1 = 0x9e3779b97f4a7c15ULL;
constexpr std::uint64_t kMul2 = 0xc2b2ae3d27d4eb4fULL;

std::uint64_t random_seed() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

// Before anything is sized from the count.
std::vector<instrument> within_index_limit(std::vector<instrument> instruments) {
  if (instruments.size() >= id_entry::kFinished) {
    throw std::invalid_argument("too many instruments for the id index");
  }
  return instruments;
}

}  // namespace

matching_engine::matching_engine(std::vector<instrument> instruments, engine_options options)
    : instruments_(within_index_limit(std::move(instruments))),
      options_(options),
      ids_(options.expected_ids != 0
               ? options.expected_ids
               : options.expected_orders_per_book * std::max<std::size_t>(1, instruments_.size())),
      seed_lo_(random_seed()),
      seed_hi_(random_seed()) {
  instruments_.reserve(std::max(instruments_.size(), options_.max_instruments));
  books_.reserve(std::max(instruments_.size(), options_.max_instruments));
  rules_.reserve(std::max(instruments_.size(), options_.max_instruments));
  for (std::size_t i = 0; i < instruments_.size(); ++i) {
    books_.push_back(std::make_unique<order_book>(static_cast<instrument_id>(i),
                                                  options_.expected_orders_per_book));
    books_.back()->set_fees(fee_calculator(instruments_[i], options_.fees));
    rules_.push_back(instrument_rules::of(instruments_[i]));
  }
}

errc matching_engine::append_instrument(const instrument& ins, std::size_t book_orders) {
  if (find_instrument(ins.symbol)) return errc::instrument_exists;
  if (instruments_.size() >= std::min<std::size_t>(options_.max_instruments, kFinished - 1)) {
    return errc::too_many_instruments;
  }
  const auto id = static_cast<instrument_id>(instruments_.size());
  books_.push_back(std::make_unique<order_book>(id, book_orders));
  books_.back()->set_fees(fee_calculator(ins, options_.fees));
  rules_.push_back(instrument_rules::of(ins));
  instruments_.push_back(ins);
  return errc::ok;
}

command_result matching_engine::add_instrument(const instrument& ins) {
  if (const errc e = append_instrument(ins, options_.added_book_orders); e != errc::ok) {
    return {e, 0};
  }
  return {errc::ok, ++sequence_};
}

errc matching_engine::restore_instrument(const instrument& ins) {
  return append_instrument(ins, options_.added_book_orders);
}

command_result matching_engine::set_halted(instrument_id id, bool halt) {
  if (id >= rules_.size()) return {errc::unknown_instrument, 0};
  if (rules_[id].halted == halt) return {errc::ok, 0};
  rules_[id].halted = halt;
  return {errc::ok, ++sequence_};
}

std::optional<instrument_id> matching_engine::find_instrument(std::string_view symbol) const {
  return engine::find_instrument(instruments_, symbol);
}

id_key matching_engine::key_of(std::string_view id) const noexcept {
  // Two independently seeded lanes over 8-byte words (ids are at most 64 bytes).
  std::uint64_t h1 = seed_lo_ ^ id.size();
  std::uint64_t h2 = seed_hi_ ^ (id.size() * kMul2);
  std::size_t i = 0;
  for (; i + 8 <= id.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, id.data() + i, 8);
    h1 = std::rotl(h1 ^ (w * kMul1), 31) * kMul2;
    h2 = std::rotl(h2 ^ (w * kMul2), 29) * kMul1;
  }
  if (i < id.size()) {
    std::uint64_t w = 0;
    std::memcpy(&w, id.data() + i, id.size() - i);
    h1 = std::rotl(h1 ^ (w * kMul1), 31) * kMul2;
    h2 = std::rotl(h2 ^ (w * kMul2), 29) * kMul1;
  }
  h1 += h2;
  h2 += h1;
  const id_key key{fmix64(h1), fmix64(h2)};
  // A zero `lo` marks a free index slot; folding it onto 1 adds one 2^-64 collision.
  return key.lo == 0 ? id_key{1, key.hi} : key;
}

bool matching_engine::is_resting(const id_entry& e, const id_key& key) const noexcept {
  return e.instrument != kFinished && books_[e.instrument]->key_at(e.node) == key;
}

command_result matching_engine::place(const place_order& cmd, event_buffer& out) {
  return place_keyed(cmd, key_of(cmd.id.view()), out);
}

command_result matching_engine::cancel(const cancel_order& cmd, event_buffer& out) {
  return cancel_keyed(cmd, key_of(cmd.id.view()), out);
}

void matching_engine::execute(std::span<const command_ref> commands,
                              std::span<batch_result> results, event_buffer& out) {
  const std::size_t n = commands.size();
  // keys[i % kLookahead] holds command i's key from the time its lines were requested:
  // hashing early is what lets the prefetch be issued early. A mass cancel names no id.
  auto request_lines = [&](std::size_t i, id_key& key) {
    const command_ref& c = commands[i];
    if (c.cancel_all != nullptr) return;
    key = key_of(c.place != nullptr    ? c.place->id.view()
                 : c.cancel != nullptr ? c.cancel->id.view()
                                       : c.amend->id.view());
    ids_.prefetch(key);
  };
  id_key keys[kLookahead];
  for (std::size_t i = 0; i < std::min(n, kLookahead); ++i) request_lines(i, keys[i]);
  for (std::size_t i = 0; i < n; ++i) {
    const id_key key = keys[i % kLookahead];
    if (const std::size_t ahead = i + kLookahead; ahead < n) {
      request_lines(ahead, keys[ahead % kLookahead]);
    }
    const command_ref& c = commands[i];
    if (c.place != nullptr) {
      results[i].result = place_keyed(*c.place, key, out);
    } else if (c.cancel != nullptr) {
      results[i].result = cancel_keyed(*c.cancel, key, out);
    } else if (c.amend != nullptr) {
      results[i].result = amend_keyed(*c.amend, key, out);
    } else {
      results[i].result = cancel_all(*c.cancel_all, out);
    }
    results[i].events_end = out.size();
  }
}

command_result matching_engine::place_keyed(const place_order& cmd, const id_key& key,
                                            event_buffer& out) {
  if (cmd.instrument >= books_.size()) return {errc::unknown_instrument, 0};
  const instrument_rules& rules = rules_[cmd.instrument];
  if (rules.halted) return {errc::instrument_halted, 0};
  order_book& book = *books_[cmd.instrument];
  const id_index::position slot = ids_.lookup(key);
  if (slot.found) return {errc::duplicate_order_id, 0};  // before capacity: it already exists
  order_book::taker_limits limits;
  const bool stop = cmd.stop_price.value != 0;
  if (rules.constrains()) {
    // A stop meets the band when it triggers, against the reference price then.
    const std::optional<price_ticks> ref =
        rules.band_bps != 0 && !stop ? reference_->of(cmd.instrument, book) : std::nullopt;
    const rules_check checked = check_rules(rules, cmd, ref);
    if (checked.error != errc::ok) return {checked.error, 0};
    limits = checked.limits;
  }
  const bool may_rest = (cmd.type == order_type::limit && cmd.tif == time_in_force::gtc) || stop;
  if (may_rest && book.order_count() >= options_.max_open_orders_per_book) {
    return {errc::book_full, 0};
  }

  order taker;
  taker.id = cmd.id;
  taker.client = cmd.client;
  taker.instrument = cmd.instrument;
  taker.order_side = cmd.order_side;
  taker.type = cmd.type;
  taker.tif = cmd.type == order_type::market ? time_in_force::ioc : cmd.tif;
  taker.price = cmd.type == order_type::market ? price_ticks{0} : cmd.price;
  taker.quantity = cmd.quantity;
  taker.key = cmd.key;
  taker.stp = cmd.stp;
  taker.post_only = cmd.post_only;
  taker.stop_price = cmd.stop_price;

  const std::size_t first_event = out.size();
  const timestamp_us now = stamp(cmd.received_at);
  order_book::command_context ctx{&sequence_, now, &next_trade_id_, &out, limits};
  const order_book::node_index rested =
      stop ? book.place_stop(taker, key, ctx) : book.execute(taker, key, ctx);
  // Matching never touches the index, so the free slot found above is still the one.
  ids_.insert(slot, key,
              rested == order_book::kNoNode
                  ? id_entry{}
                  : id_entry{static_cast<std::uint16_t>(cmd.instrument), rested});
  if (book.has_stops()) [[unlikely]] {
    trigger_stops(cmd.instrument, now, out);
  }
  if (options_.retention_us != 0) note_finished(out, first_event, now);
  return {errc::ok, sequence_};
}

matching_engine::open_order matching_engine::find_open(const id_key& key,
                                                       const client_scope& scope) {
  const id_index::position slot = ids_.lookup(key);
  if (!slot.found) return {errc::order_not_found, slot, {}};
  const id_entry entry = slot.at->entry();
  // A finished order's client is not kept here (the index holds no more than its id), so
  // a scoped command on one is order_not_open all the same: the publish stage, which holds
  // the finished order, answers order_not_found in its place when the client is foreign.
  if (!is_resting(entry, key)) return {errc::order_not_open, slot, entry};
  // Out of the caller's scope: exactly what an id never seen gets, with nothing changed.
  if (!in_scope(scope, books_[entry.instrument]->resting_order(entry.node).client)) {
    return {errc::order_not_found, slot, entry};
  }
  return {errc::ok, slot, entry};
}

command_result matching_engine::cancel_keyed(const cancel_order& cmd, const id_key& key,
                                             event_buffer& out) {
  const open_order found = find_open(key, cmd.scope);
  if (found.error != errc::ok) return {found.error, 0};
  const id_index::position slot = found.slot;
  const id_entry entry = found.entry;
  order_book& book = *books_[entry.instrument];

  const timestamp_us now = stamp(cmd.received_at);
  order_book::command_context ctx{&sequence_, now, &next_trade_id_, &out, {}};
  book.cancel(entry.node, ctx);
  slot.at->instrument = kFinished;
  if (options_.retention_us != 0) finished_.push(now, cmd.id);
  return {errc::ok, sequence_};
}

command_result matching_engine::amend(const amend_order& cmd, event_buffer& out) {
  return amend_keyed(cmd, key_of(cmd.id.view()), out);
}

command_result matching_engine::amend_keyed(const amend_order& cmd, const id_key& key,
                                            event_buffer& out) {
  const open_order found = find_open(key, cmd.scope);
  if (found.error != errc::ok) return {found.error, 0};
  const id_index::position slot = found.slot;
  const id_entry entry = found.entry;
  order_book& book = *books_[entry.instrument];
  const order& resting = book.resting_order(entry.node);
  if (resting.instrument != cmd.instrument) return {errc::order_not_found, 0};
  if (resting.waits_for_trigger()) return {errc::stop_not_triggered, 0};
  const price_ticks price = cmd.price.value != 0 ? cmd.price : resting.price;
  const quantity_lots quantity = cmd.quantity.value != 0 ? cmd.quantity : resting.quantity;
  if (quantity <= resting.filled) return {errc::quantity_not_above_filled, 0};
  // The venue's rules hold for the order as amended, as for a new one, except that a
  // smaller quantity at the same price only takes risk away: like a cancel, it is allowed
  // while halted and needs no band or notional check.
  if (price != resting.price || quantity > resting.quantity) {
    const instrument_rules& rules = rules_[entry.instrument];
    if (rules.halted) return {errc::instrument_halted, 0};
    if (rules.constrains()) {
      if (const rules_check checked = check_now(entry.instrument, resting, price, quantity);
          checked.error != errc::ok) {
        return {checked.error, 0};
      }
    }
  }
  if (resting.post_only && price != resting.price && book.would_take(resting.order_side, price)) {
    return {errc::would_take, 0};
  }

  const timestamp_us now = stamp(cmd.received_at);
  order_book::command_context ctx{&sequence_, now, &next_trade_id_, &out, {}};
  const std::size_t first_event = out.size();
  const order_book::node_index node = book.amend(entry.node, price, quantity, key, ctx);
  if (node == order_book::kNoNode) {
    slot.at->instrument = kFinished;
  } else {
    slot.at->node = node;
  }
  if (book.has_stops()) [[unlikely]] {
    trigger_stops(entry.instrument, now, out);
  }
  if (options_.retention_us != 0) note_finished(out, first_event, now);
  return {errc::ok, sequence_};
}

command_result matching_engine::cancel_all(const cancel_all_orders& cmd, event_buffer& out) {
  if (cmd.instrument && *cmd.instrument >= books_.size()) return {errc::unknown_instrument, 0};
  const std::size_t first_event = out.size();
  const sequence_number before = sequence_;
  const timestamp_us now = stamp(cmd.received_at);
  order_book::command_context ctx{&sequence_, now, &next_trade_id_, &out, {}};
  // The id index needs no word: a freed node holds no key, so each entry reads as finished.
  if (cmd.instrument) {
    books_[*cmd.instrument]->cancel_client(cmd.client, ctx);
  } else {
    for (auto& book : books_) book->cancel_client(cmd.client, ctx);
  }
  if (sequence_ == before) return {errc::ok, 0};
  if (options_.retention_us != 0) note_finished(out, first_event, now);
  return {errc::ok, sequence_};
}

rules_check matching_engine::check_now(instrument_id id, const order& o, price_ticks price,
                                       quantity_lots quantity) const {
  const instrument_rules& rules = rules_[id];
  place_order as_new;
  as_new.instrument = id;
  as_new.order_side = o.order_side;
  as_new.type = o.type;
  as_new.price = price;
  as_new.quantity = quantity;
  const std::optional<price_ticks> ref =
      rules.band_bps != 0 ? reference_->of(id, *books_[id]) : std::nullopt;
  return check_rules(rules, as_new, ref);
}

// Runs every stop the command's trades reached, one at a time: each may trade and reach
// more. Each ends as a new order would, in the same command: its trades, the makers', its
// state, the level deltas.
void matching_engine::trigger_stops(instrument_id id, timestamp_us now, event_buffer& out) {
  order_book& book = *books_[id];
  const instrument_rules& rules = rules_[id];
  id_key key;
  while (std::optional<order> triggered = book.take_triggered(key)) {
    order& taker = *triggered;
    const id_index::position slot = ids_.lookup(key);  // the stop's own entry
    order_book::command_context ctx{&sequence_, now, &next_trade_id_, &out, {}};
    if (rules.constrains()) {
      const rules_check checked = check_now(id, taker, taker.price, taker.quantity);
      if (checked.error != errc::ok) {
        // Accepted when it was placed: it ends now, cancelled, with the rule that held.
        taker.triggered = true;
        taker.status = order_status::cancelled;
        taker.reason = checked.error == errc::price_out_of_band ? end_reason::price_band
                                                                : end_reason::max_notional;
        taker.updated_at = now;
        taker.sequence = ctx.next();
        out.emplace_back(taker);
        slot.at->instrument = kFinished;
        continue;
      }
      ctx.limits = checked.limits;
    }
    const order_book::node_index rested = book.execute_triggered(taker, key, ctx);
    if (rested == order_book::kNoNode) {
      slot.at->instrument = kFinished;
    } else {
      slot.at->node = rested;
    }
  }
}

void matching_engine::note_finished(const event_buffer& out, std::size_t from, timestamp_us at) {
  for (std::size_t i = from; i < out.size(); ++i) {
    if (const auto* o = std::get_if<order>(&out[i]); o != nullptr && is_final(o->status)) {
      finished_.push(at, o->id);
    }
  }
}

bool matching_engine::forget_finished(const order_id& id) {
  const id_key key = key_of(id.view());
  const id_index::slot* s = ids_.find(key);
  // Gone already, or (never, while ids are refused until forgotten) resting again.
  if (s == nullptr || is_resting(s->entry(), key)) return false;
  return ids_.erase(key);
}

errc matching_engine::restore_resting(const order& o) {
  if (o.instrument >= books_.size()) return errc::unknown_instrument;
  const id_key key = key_of(o.id.view());
  const id_index::position slot = ids_.lookup(key);
  if (slot.found) return errc::duplicate_order_id;
  order_book& book = *books_[o.instrument];
  const order_book::node_index node =
      o.waits_for_trigger() ? book.restore_stop(o, key) : book.restore(o, key);
  ids_.insert(slot, key, id_entry{static_cast<std::uint16_t>(o.instrument), node});
  return errc::ok;
}

void matching_engine::restore_finished_id(std::string_view id, timestamp_us finished_at) {
  const id_key key = key_of(id);
  if (const id_index::position slot = ids_.lookup(key); !slot.found) {
    ids_.insert(slot, key, id_entry{});
    if (options_.retention_us != 0) finished_.push(finished_at, order_id::from(id));
  }
}

void matching_engine::restore_counters(sequence_number last_sequence, trade_id last_trade) {
  sequence_ = last_sequence;
  next_trade_id_ = last_trade + 1;
}

order_presence matching_engine::presence(std::string_view id) const {
  const id_key key = key_of(id);
  const id_index::slot* s = ids_.find(key);
  if (s == nullptr) return order_presence::unknown;
  return is_resting(s->entry(), key) ? order_presence::resting : order_presence::finished;
}

const order* matching_engine::find_resting(std::string_view id) const {
  const id_key key = key_of(id);
  const id_index::slot* s = ids_.find(key);
  if (s == nullptr || !is_resting(s->entry(), key)) return nullptr;
  return &books_[s->instrument]->resting_order(s->node);
}

std::string matching_engine::check_invariants() const {
  std::size_t resting = 0;
  for (const auto& book : books_) {
    if (std::string problem = book->check_invariants(); !problem.empty()) return problem;
    resting += book->order_count();
  }
  // An entry names a resting order when its node still holds a key agreeing with the
  // slot; each resting order must be named by exactly one, under its own id's key.
  std::size_t indexed = 0;
  std::string problem;
  ids_.for_each([&](const id_index::slot& s) {
    if (s.instrument == kFinished) return;
    if (s.instrument >= books_.size()) {
      if (problem.empty()) problem = "id index names an unknown instrument";
      return;
    }
    const order_book& book = *books_[s.instrument];
    const id_key& held = book.key_at(s.node);
    if (!s.holds(held)) return;  // filled since: the node was freed or reused
    ++indexed;
    const order& o = book.resting_order(s.node);
    if (problem.empty() && key_of(o.id.view()) != held) {
      problem = "id index points to another order: " + std::string(o.id.view());
    }
  });
  if (!problem.empty()) return problem;
  if (indexed != resting) return "id index and books disagree on the resting orders";
  return {};
}

}  // namespace matchd::engine
