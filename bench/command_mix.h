#pragma once

#include <matchd/engine/command.h>
#include <matchd/engine/instrument.h>
#include <matchd/engine/matching_engine.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace matchd::bench {

// One engine command as the engine thread receives it from its queue: the full command
// struct by value, so the benchmark reads the same bytes per command as the daemon does.
using command = std::variant<engine::place_order, engine::cancel_order, engine::amend_order>;

enum class command_kind : std::uint8_t {
  passive_add,     // GTC limit that does not cross
  cancel,          // of an order resting at that point
  market,          // market order sweeping 1-3 levels
  ioc_limit,       // IOC limit priced at the last level it may sweep
  aggressive_gtc,  // GTC limit sweeping 1-3 levels; any remainder rests
  amend,           // of an order resting at that point: a lower quantity, or a price away
  stop_add,        // a stop order a few ticks beyond the mid, which the drift may trigger
};
inline constexpr std::size_t kCommandKinds = 7;

// The book and counters a replay of a scenario must end with, recorded by running the
// same commands through the generator's own engine. A replay that ends anywhere else did
// different work than the one that was generated.
struct scenario_outcome {
  engine::sequence_number last_sequence = 0;
  engine::trade_id last_trade_id = 0;
  std::size_t resting_orders = 0;
  std::size_t bid_levels = 0;
  std::size_t ask_levels = 0;
  std::optional<engine::price_ticks> best_bid;
  std::optional<engine::price_ticks> best_ask;
  std::uint64_t measured_events = 0;  // appended by the measured commands only
  std::uint64_t measured_trades = 0;

  bool operator==(const scenario_outcome&) const = default;
};

// Shape of the generated load, for the report and for sanity checks.
struct scenario_stats {
  std::uint64_t kinds[kCommandKinds] = {};
  std::size_t warm_orders = 0;  // book after the warm-up
  std::size_t warm_bid_levels = 0;
  std::size_t warm_ask_levels = 0;
  std::size_t min_orders = 0;  // sampled across the measured commands
  std::size_t max_orders = 0;
  std::size_t min_levels = 0;  // both sides together
  std::size_t max_levels = 0;
  std::uint64_t takers = 0;        // marketable commands
  std::uint64_t levels_swept = 0;  // price levels the takers traded at
};

// A deterministic workload: `warmup` brings a fresh engine to steady state (book depth,
// pools, id index, buffers) and is replayed untimed before every pass; `measured` is
// timed and is valid exactly once after `warmup` (every cancel names an order resting at
// that point, every id is new), so each pass must start from a fresh engine, built with
// `options`.
struct scenario {
  std::string name;
  engine::engine_options options;
  std::vector<command> warmup;
  std::vector<command> measured;
  std::vector<command_kind> measured_kinds;
  scenario_outcome expected;
  scenario_stats stats;
};

std::vector<engine::instrument> bench_instruments();  // BTC-USD only, instrument id 0

// The realistic mix: ~60% passive GTC adds around a drifting mid, ~30% cancels of live
// orders, ~10% marketable orders sweeping 1-3 levels (market, IOC limit, aggressive GTC).
scenario make_mix_scenario(std::size_t measured_commands, std::uint64_t seed);
// The same mix with the order options and amends (`mix_options`): a third of the cancels
// are amends instead (half shorten the order in place, half move it a tick away from the
// mid, losing its place), a fifth of the passive adds are post_only, takers use every stp
// mode, and 20 clients instead of 200, so orders meet their own client's now and then.
scenario make_mix_options_scenario(std::size_t measured_commands, std::uint64_t seed);
// The mix with a tenth of the passive adds placed as stop orders (stop_market and
// stop_limit, 1-8 ticks beyond the mid), so the drift triggers them, cascades included.
scenario make_mix_stops_scenario(std::size_t measured_commands, std::uint64_t seed);
// The micro scenarios below isolate one kind of command: their `options` reserve the
// engine's pools and id index for every id of a pass, so no growth is timed.
// Passive adds only, on the warmed mix book.
scenario make_add_scenario(std::size_t measured_commands, std::uint64_t seed);
// Cancels only, in random order, of orders added at the end of the warm-up.
scenario make_cancel_scenario(std::size_t measured_commands, std::uint64_t seed);
// Marketable orders only, each sweeping 1-3 levels of a deep, thin book.
scenario make_sweep_scenario(std::size_t measured_commands, std::uint64_t seed);

std::string describe(const scenario& s);

}  // namespace matchd::bench
