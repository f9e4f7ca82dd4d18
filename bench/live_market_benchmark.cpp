// The live market's cost per committed trade on the publish thread (analytics::live_market:
// seven open buckets and three rolling windows), and the cost of one ticker.

#include <benchmark/benchmark.h>
#include <matchd/analytics/live_market.h>

#include <cstdint>
#include <random>
#include <vector>

namespace {

using matchd::analytics::live_market;
using matchd::analytics::trade_summary;

constexpr std::int64_t kMidnightUs = 1'796'515'200'000'000;  // 2026-12-06T00:00:00Z

struct timed {
  std::int64_t at;
  trade_summary one;
};

// `per_second` trades a second, at random prices and sizes.
std::vector<timed> trades(std::size_t n, std::int64_t per_second) {
  std::mt19937_64 rng(7);
  std::vector<timed> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    trade_summary s;
    s.add(matchd::engine::price_ticks{7'000'000 + static_cast<std::int64_t>(rng() % 1000)},
          matchd::engine::quantity_lots{1 + static_cast<std::int64_t>(rng() % 100'000)}, i + 1);
    out.push_back({kMidnightUs + static_cast<std::int64_t>(i) * 1'000'000 / per_second, s});
  }
  return out;
}

void BM_live_market_add(benchmark::State& state) {
  const auto input = trades(1 << 20, state.range(0));
  live_market m;
  std::size_t i = 0;
  for (auto _ : state) {
    const timed& t = input[i];
    m.add(t.at, t.one);
    if (++i == input.size()) {
      state.PauseTiming();
      m = live_market();
      i = 0;
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_live_market_add)->Arg(1'000)->Arg(25'000);

// A ticker a second on a market that trades `per_second` times a second, the second's trades
// added (untimed) before each: the current buckets' merge, and the windows' closed buckets
// summed again once per step (a minute for 24 h, a second for 1 m and 5 m).
void BM_live_market_ticker(benchmark::State& state) {
  const std::int64_t per_second = state.range(0);
  std::mt19937_64 rng(11);
  live_market m;
  std::int64_t now = kMidnightUs;
  matchd::engine::trade_id id = 0;
  const auto one_second = [&] {
    for (std::int64_t i = 0; i < per_second; ++i) {
      trade_summary s;
      s.add(matchd::engine::price_ticks{7'000'000 + static_cast<std::int64_t>(rng() % 1000)},
            matchd::engine::quantity_lots{1 + static_cast<std::int64_t>(rng() % 100'000)}, ++id);
      m.add(now + i * 1'000'000 / per_second, s);
    }
    now += 1'000'000;
  };
  for (int s = 0; s < 600; ++s) one_second();  // ten minutes of history first
  for (auto _ : state) {
    state.PauseTiming();
    one_second();
    state.ResumeTiming();
    benchmark::DoNotOptimize(m.windows(now - 1));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_live_market_ticker)->Arg(100)->Arg(5'000)->Iterations(2'000);

}  // namespace
BENCHMARK_MAIN();
