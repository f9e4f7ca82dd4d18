#pragma once

#include <matchd/analytics/live_market.h>
#include <matchd/bus/idle_waiter.h>
#include <matchd/bus/incremental_map.h>
#include <matchd/bus/messages.h>
#include <matchd/bus/spsc_queue.h>
#include <matchd/clearing/position_book.h>
#include <matchd/codec/responses.h>
#include <matchd/engine/client_scope.h>
#include <matchd/engine/instrument.h>
#include <matchd/obs/metrics.h>
#include <matchd/obs/order_flow_metrics.h>
#include <matchd/publish/order_view.h>
#include <matchd/publish/price_ladder.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace matchd::publish {

// The two queues that join the publish stage to one I/O thread, and how to wake it.
struct io_link {
  bus::spsc_queue<bus::read_query>* queries = nullptr;      // I/O thread -> publish
  bus::spsc_queue<bus::io_delivery>* deliveries = nullptr;  // publish -> I/O thread
  std::function<void()> wake;  // schedules the I/O thread to drain `deliveries`
};

struct publish_options {
  std::size_t trade_history = 1000;  // per instrument, the most GET /trades can ask for
  // Stream frames are only queued while a delivery queue has this much room left, so
  // responses always fit; beyond it the subscribers of that thread are too slow.
  std::size_t delivery_reserve = 8192;
};

// Durable mode: where GET /orders/{id} of an order the read view does not hold (finished
// longer ago than the retention horizon), and GET /orders?status=all, are looked up, by
// store::history_reader on a thread of its own. The publish stage only queues the query and later
// delivers the answer.
struct history_link {
  bus::spsc_queue<bus::history_query>* queries = nullptr;   // publish -> history reader
  bus::spsc_queue<bus::history_answer>* answers = nullptr;  // history reader -> publish
  std::function<void()> wake;                               // after pushing to `queries`
};

class publish_probe;

// The last stage: runs on its own thread, after the store has committed a batch (or
// straight after the engine in memory mode). It answers the waiting requests, updates the
// read views behind GET /orders, /orderbook and /trades, and fans events out to stream
// subscribers. Each event is serialized once and shared by every subscriber.
//
// Everything here is owned by the publish thread; other threads talk to it only through
// the queues.
class publish_stage {
 public:
  publish_stage(std::vector<engine::instrument> instruments, std::vector<io_link> links,
                bus::spsc_queue<bus::engine_batch*>& committed,
                bus::spsc_queue<bus::engine_batch*>& recycle, std::function<void()> wake_recycler,
                obs::registry& metrics, obs::order_flow_metrics& order_flow,
                publish_options options = {});
  ~publish_stage();
  publish_stage(const publish_stage&) = delete;
  publish_stage& operator=(const publish_stage&) = delete;

  void start();
  // Stops after draining what is queued. Call after the producers stopped.
  void stop();

  // Before start(). Without it (memory mode) an order the view does not hold is 404.
  void attach_history(history_link link) { history_ = std::move(link); }

  // Producers call this after pushing to `committed`, to a query queue or to the history
  // answers.
  void notify() noexcept { waiter_.notify(); }

  // Recovery: seeds the read views before the listener opens (not thread-safe; call
  // before start()).
  // Room in the order view for `orders`, its pages made present so that filling it takes
  // no page faults on the publish thread.
  void reserve_orders(std::size_t orders) { orders_.reserve(orders); }
  void seed_order(const engine::order& o);
  // Around the seed_order calls of a recovery (order_view::begin_seeding).
  void begin_seeding() { orders_.begin_seeding(); }
  void finish_seeding() { orders_.finish_seeding(); }
  // An order's client_order_id, after the order is seeded (seed_order).
  void seed_label(const engine::order_id& id, const engine::order_label& label);
  void seed_trade(const engine::trade& t);
  // The candles and ticker streams start from what the candles table holds (a candle of
  // `iv`: the newest of each interval, the last day's minutes, the last five minutes'
  // seconds) and then the trades the tables do not hold yet, one second at a time.
  void seed_candle(engine::instrument_id ins, analytics::interval iv, const analytics::candle& c,
                   engine::timestamp_us now) {
    markets_[ins].seed(iv, c, now);
  }
  void seed_second(engine::instrument_id ins, engine::timestamp_us second,
                   const analytics::trade_summary& trades) {
    markets_[ins].add(second, trades);
  }
  // A client's position as recovery rebuilt it (the positions table and the journal).
  void seed_position(const engine::client_id& client, engine::instrument_id ins,
                     const clearing::position& p) {
    positions_.seed(client, ins, p);
  }
  // Where unrealized PnL is marked (default: the last trade of each instrument). Before
  // start(); `marks` must outlive the stage and answer on the publish thread.
  void use_marks(const clearing::mark_source& marks) { marks_ = &marks; }
  // One side of a book's levels, best first.
  void seed_levels(engine::instrument_id ins, engine::side s,
                   std::span<const price_ladder::level> best_first);
  void seed_sequence(engine::sequence_number s) { published_sequence_ = s; }
  void seed_response(engine::sequence_number seq, std::string body);
  // An instrument recovery found halted.
  void seed_halted(engine::instrument_id ins) { halted_[ins] = true; }
  // An instrument added at runtime, the next id: before start() (recovery), then only on the
  // publish thread, as the engine's add_instrument outcomes come by.
  void add_instrument(const engine::instrument& ins);
  // Called on the publish thread with each instrument added at runtime, before its 201 is
  // delivered (the gateway learns it there). Set before start().
  void on_instrument_added(std::function<void(const engine::instrument&)> f) {
    on_instrument_added_ = std::move(f);
  }

 private:
  struct book_view {
    price_ladder bids{engine::side::buy};
    price_ladder asks{engine::side::sell};

    price_ladder& of(engine::side s) noexcept { return s == engine::side::buy ? bids : asks; }
  };
  struct subscriber {
    std::uint32_t io_thread;
    std::uint64_t token;
    std::uint8_t channels;
    bool sse;
    // The `orders` channel carries only orders of clients in `scope` (null: any), and only
    // `client`'s when it is set (read_query::scope and client of the subscribe).
    engine::client_scope scope;
    engine::client_id client;
    std::uint8_t candle_intervals = 0;  // bus::read_query::candle_intervals

    bool sees(const engine::client_id& owner) const noexcept {
      return engine::in_scope(scope, owner) && (client.empty() || client == owner);
    }
  };

  void run();
  bool has_work() const;
  void process_batch(bus::engine_batch& batch);
  void apply_events(const bus::engine_batch& batch, const bus::command_outcome& c);
  // The command's trades into both sides' positions (their orders' states are in the view by
  // now: the taker's comes after its trades), and to the `positions` channel.
  void clear_trades(const bus::engine_batch& batch, const bus::command_outcome& c);
  // GET /positions: every instrument's, or `only`'s.
  std::string positions_body(const engine::client_id& client,
                             std::optional<engine::instrument_id> only) const;
  void respond(const bus::engine_batch& batch, const bus::command_outcome& c);
  void respond_snapshot(const bus::command_outcome& c);
  // An addition, a halt or a resume: the instrument or its new status for GET /instruments,
  // an instrument_status frame to every subscriber of a halted or resumed instrument, and
  // the answer.
  void venue_command(const bus::command_outcome& c);
  std::string instruments_body(engine::instrument_id ins) const;
  // What the engine stage forgot past the retention horizon (bus::engine_batch), after the
  // batch's commands were answered.
  void forget_expired(const bus::engine_batch& batch);
  void process_query(std::uint32_t io_thread, const bus::read_query& q);
  // GET /orders/{id} missed the view: asks the history reader, or answers 404 without one.
  void ask_history(std::uint32_t io_thread, const bus::read_query& q);
  void deliver_history(const bus::history_answer& a);
  std::string order_body(const engine::order& o, std::string_view client_order_id) const;
  // The client_order_id of the command's subject: a placement's own, else the view's.
  std::string_view label_of(const bus::command_outcome& c) const;
  // GET /orders (query_kind::list_orders), and the database's page of it.
  void list_orders(std::uint32_t io_thread, const bus::read_query& q);
  void deliver_page(const bus::history_answer& a);
  // `found`: up to limit + 1 orders, newest first; the page is the first `limit`.
  bus::io_delivery page_delivery(std::uint64_t token, std::vector<codec::labelled_order_ref> found,
                                 std::size_t limit) const;
  // False when a stream frame was dropped because the queue had no room beyond the reserve.
  bool deliver(std::uint32_t io_thread, bus::io_delivery&& d);
  // The subscriber missed a frame: it gets no more, and its I/O thread is told to close it.
  // The caller updates the subscriber gauge (count_subscribers) once it has evicted all.
  void evict(std::uint32_t io_thread, std::uint64_t token);
  // Sends the eviction notices that fit now; the rest wait for the next pass.
  void send_evictions();
  void count_subscribers();
  // Whether any subscriber of `ins` takes `channel` (and, for an order, sees `owner`):
  // events nobody reads are not formatted.
  [[nodiscard]] bool wanted(engine::instrument_id ins, std::uint8_t channel,
                            const engine::client_id* owner = nullptr) const;
  // `owner`: the order's client, for the `orders` channel (subscriber::sees); null for the
  // public channels. `candle_interval`: for the `candles` channel, the interval's bit
  // (bus::read_query::candle_intervals).
  void broadcast(engine::instrument_id ins, std::uint8_t channel, std::string_view name,
                 engine::sequence_number seq, const std::string& data,
                 const engine::client_id* owner = nullptr, std::uint8_t candle_interval = 0);
  std::string orderbook_body(engine::instrument_id ins, std::size_t levels) const;
  std::string ticker_body(engine::instrument_id ins);
  // The candles and ticker streams, on their timers: each subscribed interval's next message
  // (at most one per flush, ten flushes a second), and every second the ticker of each
  // instrument that traded.
  void flush_candles();
  void flush_tickers();
  void update_depth_gauges();

  std::vector<engine::instrument> instruments_;
  std::vector<io_link> links_;
  bus::spsc_queue<bus::engine_batch*>& committed_;
  bus::spsc_queue<bus::engine_batch*>& recycle_;
  std::function<void()> wake_recycler_;
  publish_options options_;
  std::unique_ptr<publish_probe> probe_;
  history_link history_;
  obs::order_flow_metrics& order_flow_;

  bus::idle_waiter waiter_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;

  order_view orders_;
  std::vector<book_view> books_;
  std::vector<std::deque<engine::trade>> trades_;
  std::vector<bool> halted_;                     // per instrument, as committed
  std::vector<analytics::live_market> markets_;  // per instrument
  std::vector<clearing::quote_scale> scales_;    // per instrument
  clearing::position_book positions_;
  clearing::last_trade_marks last_trade_marks_;
  const clearing::mark_source* marks_ = &last_trade_marks_;
  // Every event still to come is at this time or later: the last batch's clock.
  engine::timestamp_us horizon_ = 0;
  std::size_t market_subscribers_ = 0;  // subscribers of candles or ticker, any instrument
  std::chrono::steady_clock::time_point next_candle_flush_{};
  std::chrono::steady_clock::time_point next_ticker_{};
  std::function<void(const engine::instrument&)> on_instrument_added_;
  // First responses of the commands that hold an idempotency key, by their sequence
  // (bus/idempotency.h).
  bus::incremental_map<engine::sequence_number, std::shared_ptr<const std::string>>
      idempotent_responses_;
  std::vector<std::vector<subscriber>> subscribers_;  // per instrument
  struct eviction {
    std::uint32_t io_thread;
    std::uint64_t token;
  };
  std::vector<eviction> evictions_;  // not yet handed to their I/O thread
  std::vector<bool> wake_pending_;   // per I/O thread, within one pass
  engine::sequence_number published_sequence_ = 0;
};

}  // namespace matchd::publish
