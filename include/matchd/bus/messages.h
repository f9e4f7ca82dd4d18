#pragma once

#include <matchd/bus/idempotency.h>
#include <matchd/engine/command.h>
#include <matchd/engine/errc.h>
#include <matchd/engine/event.h>
#include <matchd/engine/instrument.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace matchd::bus {

// Where the answer to a request goes: the I/O thread that owns the connection and that
// thread's token for the waiting request. Token 0 means nobody waits (e.g. the feed).
struct reply_to {
  std::uint32_t io_thread = 0;
  std::uint64_t token = 0;

  constexpr bool wanted() const noexcept { return token != 0; }
};

// snapshot: copy one instrument's book levels at the current sequence into the batch, for
// the store to persist (POST /admin/snapshots and the periodic timer).
// halt, resume: venue commands on one instrument (POST /admin/instruments/{symbol}/halt and
// /resume), sequenced with the orders: every placement after a halt is refused, none before.
// add_instrument: POST /admin/instruments, the next instrument id.
// amend: PATCH /orders/{id}, answered like a cancel (200 with the order) plus its trades.
// cancel_all: the mass cancel of one client's open orders (DELETE /orders, and a
// WebSocket's cancel-on-disconnect).
enum class request_kind : std::uint8_t {
  place,
  cancel,
  snapshot,
  halt,
  resume,
  add_instrument,
  amend,
  cancel_all,
};

constexpr bool is_venue_command(request_kind k) noexcept {
  return k == request_kind::halt || k == request_kind::resume || k == request_kind::add_instrument;
}

// gateway -> engine stage. Validated, in engine units; the engine stage adds the sequence.
struct engine_request {
  request_kind kind = request_kind::place;
  reply_to reply;
  std::int64_t received_ns = 0;          // steady clock, for the receipt-to-ack latency
  engine::place_order place;             // kind == place
  engine::order_label client_order_id;   // kind == place: the client's label (empty: none)
  engine::cancel_order cancel;           // kind == cancel
  engine::amend_order amend;             // kind == amend
  engine::cancel_all_orders cancel_all;  // kind == cancel_all
  engine::instrument_id instrument = 0;  // kind == snapshot, halt, resume
  std::shared_ptr<const engine::instrument> definition;  // kind == add_instrument
  idempotency_key idempotency;    // empty: none; the rules are in idempotency.h
  std::uint64_t fingerprint = 0;  // request_fingerprint(), to spot a reused key
};

enum class outcome_kind : std::uint8_t {
  executed,              // the engine ran it: see `error` for a business rejection
  replay,                // same idempotency key and body as an earlier command
  idempotency_conflict,  // same idempotency key, different body
};

// What became of one request. Its events are events[first_event, end_event) of the batch.
struct command_outcome {
  request_kind kind = request_kind::place;
  outcome_kind outcome = outcome_kind::executed;
  engine::errc error = engine::errc::ok;
  reply_to reply;
  std::int64_t received_ns = 0;
  engine::sequence_number sequence = 0;   // 0 when nothing changed
  engine::sequence_number replay_of = 0;  // outcome == replay: the original's sequence
  std::uint32_t first_event = 0;
  std::uint32_t end_event = 0;
  engine::order_id subject;  // the placed or cancelled order's id (none for cancel_all)
  engine::client_id client;  // place and cancel_all
  // kind == place: the order's client_order_id, which the engine does not keep (its events
  // would grow): the store journals it with the order's first state, the publish stage's
  // order view keeps it beside the order.
  engine::order_label client_order_id;
  // A cancel or amend refused order_not_open: the caller's scope (null: any client). The engine
  // keeps no client for a finished order; the publish stage answers order_not_found when
  // the finished order it holds is another client's. Only then is it copied.
  engine::client_scope scope;
  idempotency_key idempotency;
  std::uint64_t fingerprint = 0;
  // Set by the store for keyed commands, whose first response it persists; the publish
  // stage sends this same text instead of building it again.
  std::shared_ptr<const std::string> response;
  // kind == snapshot: the book as level_delta events at `snapshot_sequence`, and the id
  // the store gave the persisted snapshot (0: not persisted, e.g. in memory mode).
  // kind == halt, resume: the instrument; `sequence` is the change's number, 0 when the
  // instrument was in that state already.
  engine::instrument_id instrument = 0;
  // kind == add_instrument: what was added (its id is `instrument`), for the stages after
  // the engine to add it too, in sequence.
  std::shared_ptr<const engine::instrument> definition;
  engine::sequence_number snapshot_sequence = 0;
  std::int64_t snapshot_id = 0;
};

// A group of consecutive commands and their events, as the engine stage produced them.
// Batches are pooled and recycled: the last stage hands them back to the engine stage.
//
// Before its commands, a batch may carry what the engine stage forgot past the retention
// horizon (--retention), for the publish stage to forget too: the ids of finished orders
// (GET /orders/{id} becomes 404 in memory mode, a read of the orders table with --db; an
// id can be used again) and the sequences whose first responses no idempotency key refers
// to any more. The publish stage applies them before the batch's commands, which come
// after them in the engine's order.
//
// `clock`: the engine's clock after the batch (matching_engine::clock): every event of a
// later batch is at this time or later. An idle engine sends a batch with nothing but its
// clock every engine_stage_options::clock_tick, so the publish stage learns that a candle's
// bucket is complete although no trade came after it.
struct engine_batch {
  std::vector<command_outcome> commands;
  engine::event_buffer events;
  std::vector<engine::order_id> expired_orders;
  std::vector<engine::sequence_number> expired_responses;
  engine::timestamp_us clock = 0;

  void clear() noexcept {
    commands.clear();
    events.clear();
    expired_orders.clear();
    expired_responses.clear();
    clock = 0;
  }
};

// Requests the publish stage answers from its read views, plus stream subscriptions.
enum class query_kind : std::uint8_t {
  get_order,
  list_orders,  // GET /orders: one page of a client's orders
  get_orderbook,
  get_trades,
  get_instruments,  // `instrument`, or every instrument when it is kAllInstruments
  get_ticker,       // GET /analytics/ticker
  get_positions,    // GET /positions: `client`'s positions, every instrument
  subscribe,
  unsubscribe,
  drop_subscriber,  // the connection is gone
};

inline constexpr engine::instrument_id kAllInstruments = 0xffffffff;

enum channel : std::uint8_t {
  channel_trades = 1 << 0,
  channel_orderbook = 1 << 1,
  channel_orders = 1 << 2,
  channel_candles = 1 << 3,  // of the intervals in read_query::candle_intervals
  channel_ticker = 1 << 4,
  channel_positions = 1 << 5,  // the subscriber's clients' positions, as channel_orders
};
// The channels that carry a client's own data: they need a key that may read the client,
// and carry only the clients the subscription's scope and client allow.
inline constexpr std::uint8_t kPrivateChannels = channel_orders | channel_positions;

struct read_query {
  query_kind kind = query_kind::get_order;
  reply_to reply;
  engine::order_id id;  // get_order
  engine::instrument_id instrument = 0;
  std::uint32_t limit = 0;          // levels or trades
  std::uint8_t channels = 0;        // subscribe / unsubscribe: bitmask of `channel`
  bool server_sent_events = false;  // subscribe: format frames for SSE instead of WebSocket
  // subscribe / unsubscribe with channel_candles: the intervals, bit i for
  // analytics::kIntervals[i]; an unsubscribe without any means all of them.
  std::uint8_t candle_intervals = 0;
  // get_order and subscribe: the clients the caller may see (null: any). get_order of
  // another client's order is 404; a subscription's `orders` channel carries only these
  // clients' orders, and only `client`'s when that is set.
  engine::client_scope scope;
  // subscribe: as above; list_orders, get_positions: whose (required)
  engine::client_id client;
  // list_orders: open ones only (status=open) or all (status=all); `instrument` unless
  // any_instrument; only orders created before `before` (0: no bound); `limit` of them.
  bool open_only = true;
  bool any_instrument = true;
  engine::sequence_number before = 0;
};

// One page of a client's orders, newest first: GET /orders with status=all, in durable
// mode, asked of the orders table (see history_query::page).
struct order_page_request {
  engine::client_id client;
  std::optional<engine::instrument_id> instrument;  // nullopt: every instrument
  engine::sequence_number before = 0;               // created before it; 0: no bound
  std::uint32_t limit = 0;                          // rows wanted: the page's size + 1
};

// An order as the orders table holds it: its state and its client_order_id.
struct labelled_order {
  engine::order order;
  engine::order_label client_order_id;  // empty: none
};

// publish stage -> history reader (store/history_reader.h): GET /orders/{id} of an order the
// read view does not hold, in durable mode, to be looked up in the orders table, or a page
// of GET /orders?status=all. The reply goes back through the publish stage, which alone
// feeds the I/O threads' delivery queues.
struct history_query {
  std::uint32_t io_thread = 0;
  std::uint64_t token = 0;
  engine::order_id id;
  std::int64_t asked_ns = 0;  // steady clock: the query's deadline runs from here
  // The asker's scope (read_query::scope), handed back with the answer: the publish stage
  // answers a found order of another client 404, as it does for one in its view.
  engine::client_scope scope;
  // Set: not an id but a page of a client's orders (GET /orders?status=all).
  std::optional<order_page_request> page;
};

// history reader -> publish stage: what the orders table says.
struct history_answer {
  enum class result : std::uint8_t {
    found,        // `order` is the newest row of the id (highest created_sequence)
    not_found,    // no row: 404 order_not_found
    not_applied,  // the newest row is still open: the tables trail the engine (503 not_ready)
    unavailable,  // no connection, a failed or late query: 503 not_ready
  };
  std::uint32_t io_thread = 0;
  std::uint64_t token = 0;
  result what = result::not_found;
  engine::order order;                  // what == found; its id otherwise
  engine::order_label client_order_id;  // what == found: the order's label (empty: none)
  engine::client_scope scope;           // the query's, as asked
  // A page query's request, as asked, and (what == found) its rows, newest first.
  std::optional<order_page_request> page;
  std::vector<labelled_order> orders;
};

// publish stage -> I/O thread: a response to a waiting request, a stream frame, or word
// that a subscriber missed a frame (its I/O thread's queue was full) and must be
// disconnected as too slow: a stream with a hole cannot rebuild the book.
struct io_delivery {
  enum class kind : std::uint8_t { response, stream, evict };
  kind what = kind::response;
  std::uint64_t token = 0;
  int status = 200;
  bool replayed = false;
  bool ends_command = false;  // answers an engine_request: frees its in-flight slot
  std::shared_ptr<const std::string> body;
};

}  // namespace matchd::bus
