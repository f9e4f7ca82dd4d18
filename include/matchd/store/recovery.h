#pragma once

#include <matchd/analytics/candle.h>
#include <matchd/clearing/position.h>
#include <matchd/engine/matching_engine.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace pqxx {
class transaction_base;
}

namespace matchd::store {

// Receives what recovery reads, in this order: the expected number of orders, resting
// orders in priority order, finished orders (those finished within the retention horizon,
// oldest first), idempotency keys (first used within the horizon, oldest first) with their
// first responses
// (bus/idempotency.h), recent trades (oldest first), and last the counters. The app routes
// each to the stages that need it.
class recovery_sink {
 public:
  virtual ~recovery_sink() = default;
  // Roughly how many orders (resting and finished) follow, from the planner's statistics;
  // 0 when unknown. Lets receivers size their tables once instead of rehashing a million
  // entries several times while the rows arrive.
  virtual void expected_orders(std::size_t /*orders*/) {}
  virtual void resting_order(const engine::order& o) = 0;
  virtual void finished_order(const engine::order& o) = 0;
  // The client_order_id of an order delivered just before (resting or finished), for the
  // orders that have one: the engine's order does not hold it.
  virtual void order_label(const engine::order_id& /*id*/, std::string_view /*label*/) {}
  virtual void idempotency_key(const engine::client_id& client, std::string_view key,
                               std::uint64_t fingerprint, engine::sequence_number sequence,
                               engine::timestamp_us created_at, std::string response) = 0;
  virtual void recent_trade(const engine::trade& t) = 0;
  // What the live candles and ticker start from: the candles table's recent candles at
  // `now` (store::read_live_candles), then the trades the tables do not hold yet, summed per
  // second, oldest first.
  virtual void live_candle(engine::instrument_id /*instrument*/, analytics::interval /*iv*/,
                           const analytics::candle& /*c*/, engine::timestamp_us /*now*/) {}
  virtual void backlog_second(engine::instrument_id /*instrument*/,
                              const analytics::candle& /*second*/) {}
  // A configured instrument the database says is halted (sql/007_instrument_status.sql).
  virtual void instrument_halted(engine::instrument_id /*instrument*/) {}
  // Every client's position per instrument: the positions table's, with the backlog's trades
  // applied on top.
  virtual void position(const engine::client_id& /*client*/, engine::instrument_id /*instrument*/,
                        const clearing::position& /*p*/) {}
  virtual void counters(engine::sequence_number last_sequence, engine::trade_id last_trade_id) = 0;
  // No event after the restart may be stamped before this: the newest settlement's cutoff (a
  // host whose clock is behind must not stamp trades into a window already settled).
  virtual void clock_floor(engine::timestamp_us /*t*/) {}
};

struct recovery_report {
  std::size_t resting_orders = 0;
  std::size_t finished_orders = 0;
  std::size_t idempotency_keys = 0;
  std::size_t recent_trades = 0;
  std::size_t live_candles = 0;  // candles and backlog seconds the live streams start from
  std::size_t halted_instruments = 0;
  std::size_t positions = 0;
  std::size_t journal_rows = 0;    // journal rows not yet in the tables, laid over them
  std::size_t journal_orders = 0;  // orders those rows touch
  engine::sequence_number last_sequence = 0;
  engine::trade_id last_trade_id = 0;
  double seconds = 0;
};

// Reads the committed state in one REPEATABLE READ transaction so every part agrees: the
// tables, and over them the journal rows the applier has not written into them yet (their
// order states replace the tables' ones, their orders and trades follow), so a restart
// does not wait for the tables to catch up.
// Rows of instruments not in `instruments` are an error (throws std::runtime_error): an
// operator removed an instrument that still has orders.
//
// `retained_since`: the retention horizon's start (wall clock, microseconds). Finished
// orders last updated and idempotency keys first used before it are history, not read; 0
// reads everything. Open orders are always read.
// The instruments added at runtime (POST /admin/instruments; sql/007_instruments.sql), in
// the order they were added. Throws std::runtime_error for a definition it cannot read.
std::vector<engine::instrument> read_added_instruments(const std::string& conninfo);
// The same, in `tx`.
std::vector<engine::instrument> read_added_instruments(pqxx::transaction_base& tx);

recovery_report recover(const std::string& conninfo,
                        const std::vector<engine::instrument>& instruments,
                        std::size_t recent_trades_per_instrument, recovery_sink& sink,
                        engine::timestamp_us retained_since = 0);

}  // namespace matchd::store
