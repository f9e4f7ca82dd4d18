#include <matchd/bus/clock.h>
#include <matchd/codec/analytics_json.h>
#include <matchd/codec/errors.h>
#include <matchd/codec/instrument_json.h>
#include <matchd/codec/json_writer.h>
#include <matchd/codec/position_json.h>
#include <matchd/codec/responses.h>
#include <matchd/codec/wire.h>
#include <matchd/obs/logger.h>
#include <matchd/obs/thread_name.h>
#include <matchd/publish/publish_stage.h>

#include <algorithm>
#include <chrono>

#include "publish_probe.h"
#include "stream_frames.h"

namespace matchd::publish {

namespace {

using engine::errc;

std::shared_ptr<const std::string> shared(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

bus::io_delivery error_delivery(std::uint64_t token, codec::api_errc code, std::string message) {
  const codec::api_error err = codec::make_error(code, std::move(message));
  bus::io_delivery d;
  d.token = token;
  d.status = err.status;
  d.body = shared(codec::error_body(err));
  return d;
}

std::string no_order(const engine::order_id& id) {
  return "no order with id " + std::string(id.view());
}

constexpr std::uint8_t interval_bit(analytics::interval iv) noexcept {
  return static_cast<std::uint8_t>(1U << static_cast<unsigned>(iv));
}

// Ten flushes a second: no candles subscription hears more than that.
constexpr std::chrono::milliseconds kCandleFlush{100};
constexpr std::chrono::seconds kTickerPeriod{1};

}  // namespace

publish_stage::publish_stage(std::vector<engine::instrument> instruments,
                             std::vector<io_link> links,
                             bus::spsc_queue<bus::engine_batch*>& committed,
                             bus::spsc_queue<bus::engine_batch*>& recycle,
                             std::function<void()> wake_recycler, obs::registry& metrics,
                             obs::order_flow_metrics& order_flow, publish_options options)
    : instruments_(std::move(instruments)),
      links_(std::move(links)),
      committed_(committed),
      recycle_(recycle),
      wake_recycler_(std::move(wake_recycler)),
      options_(options),
      probe_(std::make_unique<publish_probe>(metrics, instruments_)),
      order_flow_(order_flow),
      books_(instruments_.size()),
      trades_(instruments_.size()),
      halted_(instruments_.size(), false),
      markets_(instruments_.size()),
      subscribers_(instruments_.size()),
      wake_pending_(links_.size(), false) {
  for (const engine::instrument& ins : instruments_) {
    scales_.push_back(clearing::quote_scale::of(ins));
  }
}

publish_stage::~publish_stage() {
  stop();
}

void publish_stage::start() {
  thread_ = std::thread([this] {
    obs::name_this_thread("matchd-publish");
    run();
  });
}

void publish_stage::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true, std::memory_order_release);
  waiter_.notify();
  thread_.join();
}

bool publish_stage::has_work() const {
  if (!committed_.empty()) return true;
  if (history_.answers != nullptr && !history_.answers->empty()) return true;
  for (const io_link& l : links_) {
    if (!l.queries->empty()) return true;
  }
  return stopping_.load(std::memory_order_acquire);
}

void publish_stage::run() {
  auto log = obs::logger("publish");
  log->info("publish stage started io_threads={}", links_.size());
  while (true) {
    if (!evictions_.empty()) {
      // An eviction notice waits for room in its I/O thread's queue; look again soon.
      (void)waiter_.wait_until([this] { return has_work(); },
                               std::chrono::steady_clock::now() + std::chrono::milliseconds(1));
    } else if (market_subscribers_ > 0) {
      (void)waiter_.wait_until([this] { return has_work(); },
                               std::min(next_candle_flush_, next_ticker_));
    } else {
      waiter_.wait([this] { return has_work(); });
    }
    bool did_work = false;
    while (bus::engine_batch** b = committed_.front()) {
      bus::engine_batch* batch = *b;
      committed_.pop();
      process_batch(*batch);
      batch->clear();
      // The recycle queue holds every batch there is, so this never fails.
      while (!recycle_.try_push(batch)) std::this_thread::yield();
      wake_recycler_();
      did_work = true;
    }
    if (history_.answers != nullptr) {
      while (bus::history_answer* a = history_.answers->front()) {
        deliver_history(*a);
        history_.answers->pop();
        did_work = true;
      }
    }
    for (std::uint32_t i = 0; i < links_.size(); ++i) {
      // Bounded per pass so order flow keeps priority over reads.
      for (int n = 0; n < 256; ++n) {
        bus::read_query* q = links_[i].queries->front();
        if (q == nullptr) break;
        process_query(i, *q);
        links_[i].queries->pop();
        did_work = true;
      }
    }
    if (market_subscribers_ > 0) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= next_candle_flush_) {
        flush_candles();
        next_candle_flush_ = now + kCandleFlush;
      }
      if (now >= next_ticker_) {
        flush_tickers();
        next_ticker_ = now + kTickerPeriod;
      }
    }
    send_evictions();
    for (std::uint32_t i = 0; i < links_.size(); ++i) {
      if (wake_pending_[i]) {
        wake_pending_[i] = false;
        links_[i].wake();
      }
    }
    if (!did_work && stopping_.load(std::memory_order_acquire)) break;
  }
  log->info("publish stage stopped sequence={}", published_sequence_);
}

void publish_stage::process_batch(bus::engine_batch& batch) {
  for (const bus::command_outcome& c : batch.commands) {
    if (c.kind == bus::request_kind::snapshot) {
      respond_snapshot(c);
      continue;
    }
    if (bus::is_venue_command(c.kind)) {
      venue_command(c);
      continue;
    }
    if (c.outcome == bus::outcome_kind::executed && c.error == errc::ok) {
      apply_events(batch, c);
      clear_trades(batch, c);
      // A mass cancel that found nothing changed nothing: sequence 0.
      if (c.sequence != 0) published_sequence_ = c.sequence;
    }
    respond(batch, c);
  }
  forget_expired(batch);
  horizon_ = std::max(horizon_, batch.clock);
  update_depth_gauges();
}

void publish_stage::forget_expired(const bus::engine_batch& batch) {
  for (const engine::order_id& id : batch.expired_orders) {
    // The engine forgets an id only once its order finished, and takes it again only in a
    // later batch: what is here is that finished order.
    if (const engine::order* o = orders_.find(id); o != nullptr && engine::is_final(o->status)) {
      orders_.erase(id);
    }
  }
  for (const engine::sequence_number s : batch.expired_responses) idempotent_responses_.erase(s);
}

void publish_stage::apply_events(const bus::engine_batch& batch, const bus::command_outcome& c) {
  std::string data;
  for (std::uint32_t i = c.first_event; i < c.end_event; ++i) {
    const engine::event& e = batch.events[i];
    data.clear();
    if (const auto* o = std::get_if<engine::order>(&e)) {
      // A placement's state brings the order's client_order_id into the view.
      const bool placed = c.kind == bus::request_kind::place && o->id == c.subject;
      const order_view::entry& held = orders_.put(*o, placed ? &c.client_order_id : nullptr);
      if (wanted(o->instrument, bus::channel_orders, &o->client)) {
        codec::append_order(data, *o, instruments_[o->instrument], held.client_order_id.view());
        broadcast(o->instrument, bus::channel_orders, "orders", o->sequence, data, &o->client);
      }
    } else if (const auto* t = std::get_if<engine::trade>(&e)) {
      auto& history = trades_[t->instrument];
      history.push_back(*t);
      if (history.size() > options_.trade_history) history.pop_front();
      probe_->trade_published();
      analytics::trade_summary one;
      one.add(t->price, t->quantity, t->id);
      markets_[t->instrument].add(t->executed_at, one);
      if (wanted(t->instrument, bus::channel_trades)) {
        codec::append_trade(data, *t, instruments_[t->instrument]);
        broadcast(t->instrument, bus::channel_trades, "trades", t->sequence, data);
      }
    } else if (const auto* d = std::get_if<engine::level_delta>(&e)) {
      books_[d->instrument].of(d->level_side).set(d->price, d->quantity, d->orders);
      if (wanted(d->instrument, bus::channel_orderbook)) {
        codec::append_level_delta(data, *d, instruments_[d->instrument]);
        broadcast(d->instrument, bus::channel_orderbook, "orderbook_deltas", d->sequence, data);
      }
    }
  }
}

void publish_stage::clear_trades(const bus::engine_batch& batch, const bus::command_outcome& c) {
  std::string data;
  for (std::uint32_t i = c.first_event; i < c.end_event; ++i) {
    const auto* t = std::get_if<engine::trade>(&batch.events[i]);
    if (t == nullptr) continue;
    const clearing::quote_scale& scale = scales_[t->instrument];
    last_trade_marks_.trade(t->instrument, t->price.value * scale.tick_units);
    const engine::order* buyer = orders_.find(t->buy_order_id);
    const engine::order* seller = orders_.find(t->sell_order_id);
    if (buyer == nullptr || seller == nullptr) {
      // Cannot be: both orders had a state in this command's events.
      obs::logger("publish")->error("trade {} without its orders in the view", t->id);
      continue;
    }
    for (const auto& [client, side_fill] :
         {std::pair{&buyer->client, clearing::buyer_fill(*t)},
          std::pair{&seller->client, clearing::seller_fill(*t)}}) {
      const clearing::position& p = positions_.apply(*client, t->instrument, side_fill, scale);
      if (!wanted(t->instrument, bus::channel_positions, client)) continue;
      data.clear();
      codec::append_position(data, client->view(), instruments_[t->instrument], p,
                             marks_->mark(t->instrument));
      broadcast(t->instrument, bus::channel_positions, "positions", t->sequence, data, client);
    }
  }
}

std::string publish_stage::positions_body(const engine::client_id& client,
                                          std::optional<engine::instrument_id> only) const {
  std::string body;
  codec::json_writer w(body);
  w.begin_object();
  w.key("client_id");
  w.string_value(client.view());
  w.key("positions");
  w.begin_array();
  for (const clearing::position_book::held& h : positions_.of(client)) {
    if (only && h.instrument != *only) continue;
    codec::append_position(w, client.view(), instruments_[h.instrument], h.pos,
                           marks_->mark(h.instrument));
  }
  w.end_array();
  w.end_object();
  return body;
}

void publish_stage::respond(const bus::engine_batch& batch, const bus::command_outcome& c) {
  const bool is_place = c.kind == bus::request_kind::place;
  const bool with_trades = is_place || c.kind == bus::request_kind::amend;
  bus::io_delivery reply;
  reply.token = c.reply.token;
  reply.ends_command = true;

  if (c.outcome == bus::outcome_kind::replay) {
    if (const auto* first = idempotent_responses_.find(c.replay_of)) {
      reply.status = 200;
      reply.replayed = true;
      reply.body = *first;
    } else {
      const codec::api_error err = codec::make_error(
          codec::api_errc::internal_error, "the original response of this idempotency key is gone");
      reply.status = err.status;
      reply.body = shared(codec::error_body(err));
    }
  } else if (c.outcome == bus::outcome_kind::idempotency_conflict) {
    if (is_place) order_flow_.rejected("idempotency_key_reused");
    const codec::api_error err = codec::make_error(codec::api_errc::idempotency_key_reused,
                                                   bus::reused_key_message(c.idempotency.view()));
    reply.status = err.status;
    reply.body = shared(codec::error_body(err));
  } else if (c.error != errc::ok) {
    errc error = c.error;
    const engine::order* finished = nullptr;
    if (error == errc::order_not_open) {
      // The engine keeps no client for a finished order: whether it is the caller's is
      // decided here. Another client's (or, with a scope, one this view lacks) is
      // order_not_found, the same answer as an id never seen.
      finished = orders_.find(c.subject);
      const bool own =
          finished != nullptr ? engine::in_scope(c.scope, finished->client) : c.scope == nullptr;
      if (!own) error = errc::order_not_found;
    }
    const codec::api_error err = codec::engine_error(error, c.subject.view());
    if (is_place) order_flow_.rejected(err.code);
    reply.status = err.status;
    std::string body = codec::error_body(err);
    if (error == errc::order_not_open && finished != nullptr) {
      // 409 carries the order as it stands, next to the error.
      body.pop_back();
      body += ",\"order\":";
      codec::append_order(body, *finished, instruments_[finished->instrument],
                          orders_.find_entry(c.subject)->client_order_id.view());
      body += '}';
    }
    reply.body = shared(std::move(body));
  } else if (c.kind == bus::request_kind::cancel_all) {
    const std::span<const engine::event> events(batch.events.data() + c.first_event,
                                                c.end_event - c.first_event);
    reply.status = 200;
    reply.body = shared(codec::cancel_all_response(
        events, instruments_, [this](const engine::order& o) -> std::string_view {
          const order_view::entry* held = orders_.find_entry(o.id);
          return held == nullptr ? std::string_view{} : held->client_order_id.view();
        }));
  } else {
    const std::span<const engine::event> events(batch.events.data() + c.first_event,
                                                c.end_event - c.first_event);
    reply.status = is_place ? 201 : 200;
    reply.body = c.response ? c.response
                            : shared(codec::command_response(events, c.subject, with_trades,
                                                             instruments_, label_of(c)));
    if (is_place) {
      bool traded = false;
      for (const engine::event& e : events) {
        if (std::holds_alternative<engine::trade>(e)) traded = true;
        if (const auto* o = std::get_if<engine::order>(&e);
            o != nullptr && o->id == c.subject && o->status == engine::order_status::rejected) {
          order_flow_.rejected(o->reason == engine::end_reason::would_take ? "would_take"
                                                                           : "fok_not_fillable");
        }
      }
      if (traded) order_flow_.matched();
    }
    if (bus::holds_key(c)) idempotent_responses_.try_emplace(c.sequence, reply.body);
  }

  if (is_place && c.received_ns != 0) {
    order_flow_.acknowledged(static_cast<double>(bus::steady_ns() - c.received_ns) * 1e-9);
  }
  if (c.reply.wanted()) deliver(c.reply.io_thread, std::move(reply));
}

void publish_stage::respond_snapshot(const bus::command_outcome& c) {
  if (!c.reply.wanted()) return;
  bus::io_delivery reply;
  reply.token = c.reply.token;
  reply.ends_command = true;
  if (c.snapshot_id > 0) {
    reply.status = 201;
    reply.body = shared("{\"snapshot_id\":\"" + std::to_string(c.snapshot_id) +
                        "\",\"sequence\":" + std::to_string(c.snapshot_sequence) +
                        ",\"instrument\":\"" + instruments_[c.instrument].symbol + "\"}");
  } else {
    const codec::api_error err = codec::make_error(
        codec::api_errc::not_ready, "snapshots are persisted to PostgreSQL; start with --db");
    reply.status = err.status;
    reply.body = shared(codec::error_body(err));
  }
  deliver(c.reply.io_thread, std::move(reply));
}

void publish_stage::venue_command(const bus::command_outcome& c) {
  bus::io_delivery reply;
  reply.token = c.reply.token;
  reply.ends_command = true;
  if (c.error != errc::ok) {
    const codec::api_error err = codec::engine_error(c.error, {});
    reply.status = err.status;
    reply.body = shared(codec::error_body(err));
  } else if (c.kind == bus::request_kind::add_instrument) {
    if (c.instrument == instruments_.size()) {
      add_instrument(*c.definition);
      if (on_instrument_added_) on_instrument_added_(*c.definition);
    }
    published_sequence_ = c.sequence;
    reply.status = 201;
    std::string body = "{\"instrument\":";
    codec::append_instrument(body, instruments_[c.instrument], false);
    body += '}';
    reply.body = shared(std::move(body));
  } else {
    halted_[c.instrument] = c.kind == bus::request_kind::halt;
    if (c.sequence != 0) {
      published_sequence_ = c.sequence;
      std::string data;
      codec::append_instrument(data, instruments_[c.instrument], halted_[c.instrument]);
      // Every subscriber of the instrument, whatever its channels.
      broadcast(c.instrument, std::uint8_t{0xff}, "instrument_status", c.sequence, data);
    }
    std::string body = "{\"instrument\":";
    codec::append_instrument(body, instruments_[c.instrument], halted_[c.instrument]);
    body += '}';
    reply.body = shared(std::move(body));
  }
  if (c.reply.wanted()) deliver(c.reply.io_thread, std::move(reply));
}

void publish_stage::add_instrument(const engine::instrument& ins) {
  instruments_.push_back(ins);
  books_.emplace_back();
  trades_.emplace_back();
  halted_.push_back(false);
  markets_.emplace_back();
  scales_.push_back(clearing::quote_scale::of(ins));
  subscribers_.emplace_back();
  probe_->add_instrument(ins);
}

std::string publish_stage::instruments_body(engine::instrument_id ins) const {
  std::string body;
  codec::json_writer w(body);
  w.begin_object();
  if (ins == bus::kAllInstruments) {
    w.key("instruments");
    w.begin_array();
    for (engine::instrument_id i = 0; i < instruments_.size(); ++i) {
      codec::append_instrument(w, instruments_[i], halted_[i]);
    }
    w.end_array();
  } else {
    w.key("instrument");
    codec::append_instrument(w, instruments_[ins], halted_[ins]);
  }
  w.end_object();
  return body;
}

bool publish_stage::deliver(std::uint32_t io_thread, bus::io_delivery&& d) {
  auto& q = *links_[io_thread].deliveries;
  if (d.what == bus::io_delivery::kind::stream &&
      q.capacity() - q.size() < options_.delivery_reserve) {
    probe_->stream_frames_dropped();
    return false;
  }
  // Responses always fit: the reserve is larger than the in-flight command budget.
  while (!q.try_push(std::move(d))) std::this_thread::yield();
  wake_pending_[io_thread] = true;
  return true;
}

void publish_stage::evict(std::uint32_t io_thread, std::uint64_t token) {
  const auto same = [&](const auto& s) { return s.io_thread == io_thread && s.token == token; };
  for (auto& subs : subscribers_) std::erase_if(subs, same);
  if (std::none_of(evictions_.begin(), evictions_.end(), same)) {
    evictions_.push_back({io_thread, token});
  }
}

void publish_stage::send_evictions() {
  std::erase_if(evictions_, [this](const eviction& e) {
    bus::io_delivery d;
    d.what = bus::io_delivery::kind::evict;
    d.token = e.token;
    if (!links_[e.io_thread].deliveries->try_push(std::move(d))) return false;
    wake_pending_[e.io_thread] = true;
    return true;
  });
}

void publish_stage::count_subscribers() {
  std::size_t total = 0;
  std::size_t market = 0;
  for (const auto& v : subscribers_) {
    total += v.size();
    market += static_cast<std::size_t>(std::count_if(v.begin(), v.end(), [](const subscriber& s) {
      return (s.channels & (bus::channel_candles | bus::channel_ticker)) != 0;
    }));
  }
  if (market_subscribers_ == 0 && market > 0) {
    next_candle_flush_ = std::chrono::steady_clock::now() + kCandleFlush;
    next_ticker_ = std::chrono::steady_clock::now() + kTickerPeriod;
  }
  market_subscribers_ = market;
  probe_->set_subscribers(static_cast<double>(total));
}

void publish_stage::flush_candles() {
  for (engine::instrument_id ins = 0; ins < subscribers_.size(); ++ins) {
    std::uint8_t intervals = 0;
    for (const subscriber& s : subscribers_[ins]) {
      if ((s.channels & bus::channel_candles) != 0) intervals |= s.candle_intervals;
    }
    for (const analytics::interval iv : analytics::kIntervals) {
      if ((intervals & interval_bit(iv)) == 0) continue;
      if (const auto m = markets_[ins].next_message(iv, horizon_)) {
        broadcast(ins, bus::channel_candles, "candles", published_sequence_,
                  codec::candle_stream_data(instruments_[ins], iv, m->bucket, m->closed), nullptr,
                  interval_bit(iv));
      }
    }
  }
}

void publish_stage::flush_tickers() {
  for (engine::instrument_id ins = 0; ins < subscribers_.size(); ++ins) {
    if (!wanted(ins, bus::channel_ticker) || !markets_[ins].take_traded()) continue;
    broadcast(ins, bus::channel_ticker, "ticker", published_sequence_, ticker_body(ins));
  }
}

std::string publish_stage::ticker_body(engine::instrument_id ins) {
  codec::ticker_figures t;
  t.at = bus::wall_us();
  t.windows = markets_[ins].windows(t.at);
  if (!trades_[ins].empty()) t.last_price = trades_[ins].back().price;
  const auto best = [](const price_ladder& ladder) {
    std::optional<engine::price_ticks> p;
    ladder.for_each_best_first(1, [&p](const price_ladder::level& l) { p = l.price; });
    return p;
  };
  t.best_bid = best(books_[ins].bids);
  t.best_ask = best(books_[ins].asks);
  return codec::ticker_body(instruments_[ins], t);
}

bool publish_stage::wanted(engine::instrument_id ins, std::uint8_t channel,
                           const engine::client_id* owner) const {
  return std::any_of(subscribers_[ins].begin(), subscribers_[ins].end(),
                     [channel, owner](const subscriber& s) {
                       return (s.channels & channel) != 0 && (owner == nullptr || s.sees(*owner));
                     });
}

void publish_stage::broadcast(engine::instrument_id ins, std::uint8_t channel,
                              std::string_view name, engine::sequence_number seq,
                              const std::string& data, const engine::client_id* owner,
                              std::uint8_t candle_interval) {
  std::shared_ptr<const std::string> ws_shared;
  std::shared_ptr<const std::string> sse_shared;
  std::vector<eviction> missed;
  for (const subscriber& s : subscribers_[ins]) {
    if ((s.channels & channel) == 0) continue;
    if (owner != nullptr && !s.sees(*owner)) continue;
    if (candle_interval != 0 && (s.candle_intervals & candle_interval) == 0) continue;
    bus::io_delivery d;
    d.what = bus::io_delivery::kind::stream;
    d.token = s.token;
    if (s.sse) {
      if (!sse_shared) sse_shared = shared(sse_frame(name, seq, data));
      d.body = sse_shared;
    } else {
      if (!ws_shared)
        ws_shared = shared(codec::stream_frame(name, instruments_[ins].symbol, seq, data));
      d.body = ws_shared;
    }
    if (!deliver(s.io_thread, std::move(d))) missed.push_back({s.io_thread, s.token});
  }
  for (const eviction& e : missed) evict(e.io_thread, e.token);
  if (!missed.empty()) count_subscribers();
}

std::string publish_stage::orderbook_body(engine::instrument_id ins, std::size_t levels) const {
  std::vector<codec::book_level> bids;
  std::vector<codec::book_level> asks;
  const auto copy_into = [levels](const price_ladder& ladder, std::vector<codec::book_level>& out) {
    out.reserve(std::min(levels, ladder.level_count()));
    ladder.for_each_best_first(levels, [&out](const price_ladder::level& l) {
      out.push_back({l.price, l.quantity, l.orders});
    });
  };
  copy_into(books_[ins].bids, bids);
  copy_into(books_[ins].asks, asks);
  std::string body;
  codec::append_orderbook(body, instruments_[ins], published_sequence_, bus::wall_us(), bids, asks);
  return body;
}

void publish_stage::process_query(std::uint32_t io_thread, const bus::read_query& q) {
  bus::io_delivery reply;
  reply.token = q.reply.token;
  switch (q.kind) {
    case bus::query_kind::get_order: {
      const order_view::entry* held = orders_.find_entry(q.id);
      if (held == nullptr) return ask_history(io_thread, q);
      const engine::order* o = &held->order;
      if (!engine::in_scope(q.scope, o->client)) {
        // Another client's order does not exist for this caller: the body of an unknown id.
        deliver(io_thread,
                error_delivery(q.reply.token, codec::api_errc::order_not_found, no_order(q.id)));
        return;
      }
      reply.body = shared(order_body(*o, held->client_order_id.view()));
      break;
    }
    case bus::query_kind::list_orders:
      return list_orders(io_thread, q);
    case bus::query_kind::get_orderbook:
      reply.body = shared(orderbook_body(q.instrument, q.limit));
      break;
    case bus::query_kind::get_instruments:
      reply.body = shared(instruments_body(q.instrument));
      break;
    case bus::query_kind::get_ticker:
      reply.body = shared(ticker_body(q.instrument));
      break;
    case bus::query_kind::get_positions:
      reply.body = shared(
          positions_body(q.client, q.any_instrument ? std::nullopt : std::optional(q.instrument)));
      break;
    case bus::query_kind::get_trades: {
      const auto& history = trades_[q.instrument];
      std::string body = "{\"trades\":[";
      std::size_t n = 0;
      for (auto it = history.rbegin(); it != history.rend() && n < q.limit; ++it, ++n) {
        if (n > 0) body += ',';
        codec::append_trade(body, *it, instruments_[q.instrument]);
      }
      body += "]}";
      reply.body = shared(std::move(body));
      break;
    }
    case bus::query_kind::subscribe: {
      auto& subs = subscribers_[q.instrument];
      std::uint8_t added = q.channels;
      std::uint8_t added_intervals = q.candle_intervals;
      bool found = false;
      for (subscriber& s : subs) {
        if (s.io_thread == io_thread && s.token == q.reply.token) {
          added = q.channels & static_cast<std::uint8_t>(~s.channels);
          added_intervals = q.candle_intervals & static_cast<std::uint8_t>(~s.candle_intervals);
          s.channels |= q.channels;
          s.candle_intervals |= q.candle_intervals;
          if ((q.channels & bus::kPrivateChannels) != 0) {
            // The latest subscription to `orders` or `positions` says whose they carry.
            s.scope = q.scope;
            s.client = q.client;
          }
          found = true;
        }
      }
      if (!found) {
        subs.push_back({io_thread, q.reply.token, q.channels, q.server_sent_events, q.scope,
                        q.client, q.candle_intervals});
      }
      reply.what = bus::io_delivery::kind::stream;
      if (q.server_sent_events) {
        // An SSE comment: ignored by EventSource, it confirms the subscription.
        reply.body =
            shared(": subscribed sequence=" + std::to_string(published_sequence_) + "\n\n");
      } else {
        reply.body =
            shared(subscription_ack("subscribed", instruments_[q.instrument].symbol, q.channels,
                                    published_sequence_, halted_[q.instrument]));
      }
      const auto frame = [&](std::string_view name, const std::string& data) {
        return shared(q.server_sent_events
                          ? sse_frame(name, published_sequence_, data)
                          : codec::stream_frame(name, instruments_[q.instrument].symbol,
                                                published_sequence_, data));
      };
      bool delivered = deliver(io_thread, bus::io_delivery(reply));
      if (delivered && (added & bus::channel_orderbook) != 0) {
        reply.body = frame("orderbook_snapshot", orderbook_body(q.instrument, 1000));
        delivered = deliver(io_thread, bus::io_delivery(reply));
      }
      // A new candles or ticker subscriber starts from where they stand, not from the
      // next change.
      for (const analytics::interval iv : analytics::kIntervals) {
        if (!delivered || (added_intervals & interval_bit(iv)) == 0) continue;
        if (const auto open = markets_[q.instrument].open_candle(iv)) {
          reply.body = frame(
              "candles", codec::candle_stream_data(instruments_[q.instrument], iv, *open, false));
          delivered = deliver(io_thread, bus::io_delivery(reply));
        }
      }
      if (delivered && (added & bus::channel_ticker) != 0) {
        reply.body = frame("ticker", ticker_body(q.instrument));
        delivered = deliver(io_thread, bus::io_delivery(reply));
      }
      if (!delivered) evict(io_thread, q.reply.token);
      count_subscribers();
      return;
    }
    case bus::query_kind::unsubscribe:
    case bus::query_kind::drop_subscriber: {
      auto& subs = subscribers_[q.instrument];
      for (auto& s : subs) {
        if (s.io_thread != io_thread || s.token != q.reply.token) continue;
        if (q.kind == bus::query_kind::drop_subscriber) {
          s.channels = 0;
          continue;
        }
        std::uint8_t dropped = q.channels;
        if ((q.channels & bus::channel_candles) != 0 && q.candle_intervals != 0) {
          // Some of its intervals: the channel stays while others are left.
          s.candle_intervals &= static_cast<std::uint8_t>(~q.candle_intervals);
          if (s.candle_intervals != 0) dropped &= static_cast<std::uint8_t>(~bus::channel_candles);
        } else if ((q.channels & bus::channel_candles) != 0) {
          s.candle_intervals = 0;
        }
        s.channels &= static_cast<std::uint8_t>(~dropped);
      }
      std::erase_if(subs, [](const subscriber& s) { return s.channels == 0; });
      if (q.kind == bus::query_kind::unsubscribe) {
        reply.what = bus::io_delivery::kind::stream;
        reply.body =
            shared(subscription_ack("unsubscribed", instruments_[q.instrument].symbol, q.channels,
                                    published_sequence_, halted_[q.instrument]));
        if (!deliver(io_thread, std::move(reply))) evict(io_thread, q.reply.token);
      }
      count_subscribers();
      return;
    }
  }
  deliver(io_thread, std::move(reply));
}

std::string publish_stage::order_body(const engine::order& o,
                                      std::string_view client_order_id) const {
  std::string body = "{\"order\":";
  codec::append_order(body, o, instruments_[o.instrument], client_order_id);
  body += '}';
  return body;
}

void publish_stage::ask_history(std::uint32_t io_thread, const bus::read_query& q) {
  if (history_.queries == nullptr) {
    deliver(io_thread,
            error_delivery(q.reply.token, codec::api_errc::order_not_found, no_order(q.id)));
    return;
  }
  bus::history_query h;
  h.io_thread = io_thread;
  h.token = q.reply.token;
  h.id = q.id;
  h.asked_ns = bus::steady_ns();
  h.scope = q.scope;
  if (!history_.queries->try_push(h)) {
    deliver(io_thread, error_delivery(q.reply.token, codec::api_errc::overloaded,
                                      "too many order history queries waiting; retry later"));
    return;
  }
  history_.wake();
}

// GET /orders. The open orders are all in the view (recovery seeds every one), so
// status=open, and status=all without a database, are answered from it; status=all with a
// database asks the orders table for the page and merges it with the view (deliver_page).
// The gateway has checked the caller may read the client.
void publish_stage::list_orders(std::uint32_t io_thread, const bus::read_query& q) {
  if (!q.open_only && history_.queries != nullptr) {
    bus::history_query h;
    h.io_thread = io_thread;
    h.token = q.reply.token;
    h.asked_ns = bus::steady_ns();
    h.scope = q.scope;
    bus::order_page_request page;
    page.client = q.client;
    if (!q.any_instrument) page.instrument = q.instrument;
    page.before = q.before;
    page.limit = q.limit + 1;
    h.page = page;
    if (!history_.queries->try_push(std::move(h))) {
      deliver(io_thread, error_delivery(q.reply.token, codec::api_errc::overloaded,
                                        "too many order history queries waiting; retry later"));
      return;
    }
    history_.wake();
    return;
  }
  order_view::page_query vq;
  vq.client = q.client;
  if (!q.any_instrument) vq.instrument = q.instrument;
  vq.open_only = q.open_only;
  vq.before = q.before;
  vq.limit = q.limit;
  std::vector<codec::labelled_order_ref> found;
  for (const order_view::entry* e : orders_.page(vq)) {
    found.push_back({&e->order, e->client_order_id.view()});
  }
  deliver(io_thread, page_delivery(q.reply.token, std::move(found), q.limit));
}

bus::io_delivery publish_stage::page_delivery(std::uint64_t token,
                                              std::vector<codec::labelled_order_ref> found,
                                              std::size_t limit) const {
  std::optional<engine::sequence_number> next_before;
  if (found.size() > limit) {
    found.resize(limit);
    next_before = found.back().order->created_sequence;
  }
  bus::io_delivery d;
  d.token = token;
  d.body = shared(codec::order_page_response(found, next_before, instruments_));
  return d;
}

// The orders table's page, merged with the view: an order the view holds is the view's
// (newer than a row the applier has not yet updated), and an order newer than the tables
// is only in the view. Each side gave up to a page and one more, so the first page-plus-one
// of their union, by created_sequence, is exact.
void publish_stage::deliver_page(const bus::history_answer& a) {
  if (a.what != bus::history_answer::result::found) {
    deliver(a.io_thread, error_delivery(a.token, codec::api_errc::not_ready,
                                        "database unavailable: the order history cannot be "
                                        "read now; retry later"));
    return;
  }
  const bus::order_page_request& p = *a.page;
  const std::size_t limit = p.limit - 1;
  order_view::page_query vq;
  vq.client = p.client;
  vq.instrument = p.instrument;
  vq.open_only = false;
  vq.before = p.before;
  vq.limit = limit;
  std::vector<codec::labelled_order_ref> merged;
  for (const order_view::entry* e : orders_.page(vq)) {
    merged.push_back({&e->order, e->client_order_id.view()});
  }
  for (const bus::labelled_order& row : a.orders) {
    const engine::order* held = orders_.find(row.order.id);
    if (held != nullptr && held->created_sequence == row.order.created_sequence) continue;
    merged.push_back({&row.order, row.client_order_id.view()});
  }
  std::sort(merged.begin(), merged.end(),
            [](const codec::labelled_order_ref& x, const codec::labelled_order_ref& y) {
              return x.order->created_sequence > y.order->created_sequence;
            });
  deliver(a.io_thread, page_delivery(a.token, std::move(merged), limit));
}

void publish_stage::deliver_history(const bus::history_answer& a) {
  using result = bus::history_answer::result;
  if (a.page) return deliver_page(a);
  if ((a.what == result::found || a.what == result::not_applied) &&
      !engine::in_scope(a.scope, a.order.client)) {
    // Another client's order, as in the view (process_query): the body of an unknown id.
    deliver(a.io_thread,
            error_delivery(a.token, codec::api_errc::order_not_found, no_order(a.order.id)));
    return;
  }
  switch (a.what) {
    case result::found: {
      bus::io_delivery d;
      d.token = a.token;
      d.body = shared(order_body(a.order, a.client_order_id.view()));
      deliver(a.io_thread, std::move(d));
      return;
    }
    case result::not_found:
      deliver(a.io_thread,
              error_delivery(a.token, codec::api_errc::order_not_found, no_order(a.order.id)));
      return;
    case result::not_applied:
      deliver(a.io_thread,
              error_delivery(a.token, codec::api_errc::not_ready,
                             "the database has not caught up with order " +
                                 std::string(a.order.id.view()) + " yet; retry later"));
      return;
    case result::unavailable:
      deliver(a.io_thread, error_delivery(a.token, codec::api_errc::not_ready,
                                          "database unavailable: the order history cannot be "
                                          "read now; retry later"));
      return;
  }
}

void publish_stage::update_depth_gauges() {
  for (engine::instrument_id i = 0; i < books_.size(); ++i) {
    const book_view& b = books_[i];
    probe_->set_depth(i, engine::side::buy, static_cast<double>(b.bids.level_count()),
                      static_cast<double>(b.bids.order_count()));
    probe_->set_depth(i, engine::side::sell, static_cast<double>(b.asks.level_count()),
                      static_cast<double>(b.asks.order_count()));
  }
}

void publish_stage::seed_response(engine::sequence_number seq, std::string body) {
  idempotent_responses_.insert_or_assign(seq, shared(std::move(body)));
}

void publish_stage::seed_label(const engine::order_id& id, const engine::order_label& label) {
  orders_.set_label(id, label);
}

std::string_view publish_stage::label_of(const bus::command_outcome& c) const {
  if (c.kind == bus::request_kind::place) return c.client_order_id.view();
  const order_view::entry* held = orders_.find_entry(c.subject);
  return held == nullptr ? std::string_view{} : held->client_order_id.view();
}

void publish_stage::seed_order(const engine::order& o) {
  orders_.put(o);
}

void publish_stage::seed_trade(const engine::trade& t) {
  last_trade_marks_.trade(t.instrument, t.price.value * scales_[t.instrument].tick_units);
  auto& history = trades_[t.instrument];
  history.push_back(t);
  if (history.size() > options_.trade_history) history.pop_front();
}

void publish_stage::seed_levels(engine::instrument_id ins, engine::side s,
                                std::span<const price_ladder::level> best_first) {
  books_[ins].of(s).assign_best_first(best_first);
}

}  // namespace matchd::publish
