#pragma once

// A randomized run of the real matching engine written to the tables as the journal applier
// writes them (store::write_tables, in chunks, each its own transaction): what the pg tests
// of derived tables (candles, positions) check against plain SQL over `trades`.

#include <matchd/engine/instrument.h>
#include <matchd/engine/matching_engine.h>

#include <cstdint>
#include <functional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace matchd::pgtest {

inline constexpr std::int64_t kSecondUs = 1'000'000;
// 2026-12-06T22:00:00Z: a run crosses UTC midnight and several 4 h buckets.
inline constexpr std::int64_t kStartUs = 1'796'594'400'000'000;

// BTC-USD and an ETH-USD with other increments (tick 0.05, lot 1000 units of 10^-8).
std::vector<engine::instrument> two_instruments();

// An integer as a numeric column prints it.
std::string integer_text(engine::int128 v);

struct random_run {
  int orders = 0;
  // The n-th order is received at about kStartUs + n * step_us.
  std::int64_t step_us = kSecondUs;
  // Runs after each chunk's commit, when given.
  std::function<void()> after_flush{};
  engine::engine_options engine{};  // its fees, say
  int clients = 50;
};

// Random orders on `ins` from `run.clients` clients, one `step_us` apart, some exactly on a
// minute's edge and some stamped earlier than the order before them (two I/O threads'
// clocks): written in chunks of 1 to 400 commands. `c` must have had
// store::prepare_table_session.
void run_random_orders(pqxx::connection& c, const std::vector<engine::instrument>& ins,
                       const random_run& run);

}  // namespace matchd::pgtest
