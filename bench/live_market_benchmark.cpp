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

// A ticker a second on a market that trades `per_second` times a second: mostly the
// current buckets' merge, the window's closed buckets summed once per step.
void BM_live_market_ticker(benchmark::State& state) {
  const auto input = trades(600'000, state.range(0));
  live_market m;
  for (const timed& t : input) m.add(t.at, t.one);
  std::int64_t now = input.back().at;
  for (auto _ : state) {
    now += 1'000'000;
    benchmark::DoNotOptimize(m.windows(now));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_live_market_ticker)->Arg(100)->Arg(25'000);

}  // namespace
BENCHMARK_MAIN();
