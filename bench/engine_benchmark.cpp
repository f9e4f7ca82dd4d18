// The matching engine alone, on pre-generated commands (generation is never timed).
//
//   engine_<scenario>/throughput  every command of the scenario back to back, no clock
//                                 reads, driven the way the daemon's engine stage drives
//                                 the engine: batches of up to max_commands_per_batch
//                                 commands whose events accumulate in one buffer, run
//                                 through matching_engine::execute in chunks of
//                                 engine_chunk. items_per_second is the figure to quote.
//   engine_<scenario>/latency     the same commands one call each (place / cancel), each
//                                 timed with the TSC into a log-linear histogram:
//                                 p50/p99/p99.9/max in ns (the clock pair itself costs
//                                 `clock_ns`, not subtracted).
//
//   engine_growth_<what>/<sizing>
//                                 growth alone, timed one command at a time like latency:
//                                 `ids` places 2,000,000 IOC orders that rest nowhere (every
//                                 one a new id: only the id index grows, from the daemon's
//                                 default size), `book` rests 400,000 GTC orders on 1,000
//                                 prices (the book's nodes grow past their reserve too).
//                                 `default` is the daemon's default sizing, `presized`
//                                 reserves for the whole run. max_ns is the worst single
//                                 command: what one growth step holds matching up for. On
//                                 a shared machine it is also the longest preemption, so
//                                 max_cpu_ns reads the thread's CPU clock around each
//                                 command as well (page faults count, time spent
//                                 descheduled does not; a syscall pair, about 1 us, added
//                                 to every command).
//
// Scenarios (command_mix.h): `mix` is the realistic load the performance target is
// about; `add`, `cancel` and `sweep` isolate one kind of command each. `mix_presized`
// replays `mix` on an engine whose pools and id index are reserved up front for every id
// of the run: the gap to `mix` is what growing them inside the timed loop costs.
// `mix_options` is the mix with post-only adds, every self-trade prevention mode, fewer
// clients and amends among the cancels: the second figure to report beside `mix`.
// `mix_stops` is the mix with a tenth of its passive adds placed as stop orders near the
// mid, which the drift triggers: what the trigger path costs.
//
// One benchmark iteration is one pass over the scenario's measured commands on a fresh
// engine that replayed the scenario's warm-up untimed, so every timed command is valid
// (no replays onto the same engine, no rejected cancels). After each pass the engine's
// counters, book shape and invariants must equal those the generator recorded, and any
// rejected command aborts the run. Allocations inside the timed passes are counted by
// the replaced global operator new below and reported as `allocs/pass`.
//
// The machine is shared and noisy: run with repetitions and read the medians, e.g.
//   ./build-bench/bench/engine_benchmark --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>
#include <matchd/engine/matching_engine.h>
#include <matchd/obs/latency_histogram.h>
#include <matchd/sequencer/engine_stage.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "command_mix.h"
#include "cycle_clock.h"

namespace matchd::bench {
namespace {

std::atomic<std::uint64_t> allocation_count{0};

}  // namespace
}  // namespace matchd::bench

// Counting replacements of the global allocation functions: the engine promises no
// allocation per order in steady state, and this is where that promise is checked.
void* operator new(std::size_t n) {
  matchd::bench::allocation_count.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  return ::operator new(n);
}
void* operator new(std::size_t n, std::align_val_t a) {
  matchd::bench::allocation_count.fetch_add(1, std::memory_order_relaxed);
  const auto align = static_cast<std::size_t>(a);
  if (void* p =
          std::aligned_alloc(align, (std::max<std::size_t>(n, 1) + align - 1) / align * align)) {
    return p;
  }
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return ::operator new(n, a);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// GCC 12 matches the free() below against the replaced operator new it inlines at a call
// site and calls the pair mismatched; both are replaced here, and malloc/free is the pair.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace matchd::bench {
namespace {

using obs::latency_histogram;

constexpr std::uint64_t kSeed = 20'240'601;
// The engine stage's defaults: commands per batch shipped downstream (their events share
// one buffer until the batch is recycled) and commands per execute() call.
const sequencer::engine_stage_options kStage{};
// As the engine stage reserves each batch's event buffer.
const std::size_t kEventReserve = kStage.max_commands_per_batch * 8;

scenario announced(scenario s) {
  std::fprintf(stderr, "%s\n", describe(s).c_str());
  return s;
}
// Generated on first use, outside any timed region, and kept for the process.
const scenario& mix_scenario() {
  static const scenario s = announced(make_mix_scenario(1'000'000, kSeed));
  return s;
}
const scenario& mix_options_scenario() {
  static const scenario s = announced(make_mix_options_scenario(1'000'000, kSeed));
  return s;
}
const scenario& mix_stops_scenario() {
  static const scenario s = announced(make_mix_stops_scenario(1'000'000, kSeed));
  return s;
}
const scenario& add_scenario() {
  static const scenario s = announced(make_add_scenario(100'000, kSeed + 1));
  return s;
}
const scenario& cancel_scenario() {
  static const scenario s = announced(make_cancel_scenario(50'000, kSeed + 2));
  return s;
}
const scenario& sweep_scenario() {
  static const scenario s = announced(make_sweep_scenario(20'000, kSeed + 3));
  return s;
}

[[noreturn]] void fail(const scenario& s, const std::string& what) {
  std::fprintf(stderr, "engine_benchmark: scenario %s: %s\n", s.name.c_str(), what.c_str());
  std::abort();
}

inline engine::command_result execute(engine::matching_engine& eng, const command& c,
                                      engine::event_buffer& out) {
  if (const auto* place = std::get_if<engine::place_order>(&c)) return eng.place(*place, out);
  if (const auto* amend = std::get_if<engine::amend_order>(&c)) return eng.amend(*amend, out);
  return eng.cancel(*std::get_if<engine::cancel_order>(&c), out);
}

// A fresh engine in the scenario's warm state for each pass, and the one event buffer
// every command appends to (cleared after each command; it keeps its capacity).
class engine_pass {
 public:
  engine_pass(const scenario& s, engine::engine_options options) : scenario_(s), options_(options) {
    out_.reserve(kEventReserve);
  }

  [[gnu::noinline]] void prepare() {
    engine_.reset();
    engine_ = std::make_unique<engine::matching_engine>(bench_instruments(), options_);
    for (std::size_t i = 0; i < scenario_.warmup.size(); ++i) {
      const engine::command_result r = execute(*engine_, scenario_.warmup[i], out_);
      if (!r.ok()) rejected("warm-up", i, r.error);
      out_.clear();
    }
    trades_before_ = engine_->last_trade_id();
  }

  // Untimed: the pass must have left the engine exactly where the generator's did.
  void verify(std::uint64_t events) const {
    const engine::order_book& b = engine_->book(0);
    scenario_outcome got;
    got.last_sequence = engine_->last_sequence();
    got.last_trade_id = engine_->last_trade_id();
    got.resting_orders = b.order_count();
    got.bid_levels = b.level_count(engine::side::buy);
    got.ask_levels = b.level_count(engine::side::sell);
    got.best_bid = b.best_bid();
    got.best_ask = b.best_ask();
    got.measured_events = events;
    got.measured_trades = engine_->last_trade_id() - trades_before_;
    if (!(got == scenario_.expected)) {
      fail(scenario_, "the replay ended in a different state than the generator: sequence " +
                          std::to_string(got.last_sequence) + " vs " +
                          std::to_string(scenario_.expected.last_sequence) + ", trades " +
                          std::to_string(got.measured_trades) + " vs " +
                          std::to_string(scenario_.expected.measured_trades) + ", events " +
                          std::to_string(got.measured_events) + " vs " +
                          std::to_string(scenario_.expected.measured_events) + ", orders " +
                          std::to_string(got.resting_orders) + " vs " +
                          std::to_string(scenario_.expected.resting_orders));
    }
    if (const std::string broken = engine_->check_invariants(); !broken.empty()) {
      fail(scenario_, "engine invariants broken after a pass: " + broken);
    }
  }

  [[noreturn]] void rejected(const char* phase, std::size_t index, engine::errc e) const {
    fail(scenario_, std::string(phase) + " command " + std::to_string(index) +
                        " rejected: " + std::string(engine::to_code(e)));
  }

  engine::matching_engine& engine() { return *engine_; }
  engine::event_buffer& out() { return out_; }

 private:
  const scenario& scenario_;
  engine::engine_options options_;
  std::unique_ptr<engine::matching_engine> engine_;
  engine::event_buffer out_;
  engine::trade_id trades_before_ = 0;
};

engine::command_ref ref_of(const command& c) {
  if (const auto* place = std::get_if<engine::place_order>(&c)) return {place, nullptr};
  if (const auto* amend = std::get_if<engine::amend_order>(&c)) return {nullptr, nullptr, amend};
  return {nullptr, std::get_if<engine::cancel_order>(&c)};
}

// The timed loop of the throughput benchmarks. Returns the number of events appended.
// Out of line (as are the other loops) so a profile attributes samples to the timed
// loop rather than the warm-up replay. Like the engine stage, it refers to the commands
// where they lie (the stage: in its input queues) and takes results per chunk.
[[gnu::noinline]] std::uint64_t run_measured(engine_pass& pass, const scenario& s) {
  engine::matching_engine& eng = pass.engine();
  engine::event_buffer& out = pass.out();
  std::array<engine::command_ref, 256> refs;
  std::array<engine::batch_result, 256> results;
  const std::size_t chunk = std::min(kStage.engine_chunk, refs.size());
  std::uint64_t events = 0;
  const std::size_t n = s.measured.size();
  for (std::size_t batch = 0; batch < n; batch += kStage.max_commands_per_batch) {
    const std::size_t batch_end = std::min(n, batch + kStage.max_commands_per_batch);
    for (std::size_t first = batch; first < batch_end; first += chunk) {
      const std::size_t count = std::min(chunk, batch_end - first);
      for (std::size_t k = 0; k < count; ++k) refs[k] = ref_of(s.measured[first + k]);
      eng.execute(std::span(refs.data(), count), std::span(results.data(), count), out);
      for (std::size_t k = 0; k < count; ++k) {
        if (!results[k].result.ok()) [[unlikely]]
          pass.rejected("measured", first + k, results[k].result.error);
      }
    }
    events += out.size();
    out.clear();  // the batch went downstream and came back recycled
  }
  benchmark::DoNotOptimize(events);
  return events;
}

// Latency classes reported separately in the mix.
enum class op_class : std::uint8_t { add, cancel, take };
constexpr std::size_t kClasses = 3;
constexpr std::array<const char*, kClasses> kClassNames = {"add", "cancel", "take"};

op_class class_of(command_kind k) {
  switch (k) {
    case command_kind::passive_add:
      return op_class::add;
    case command_kind::cancel:
      return op_class::cancel;
    default:
      return op_class::take;
  }
}

struct latency_histograms {
  latency_histogram all;
  std::array<latency_histogram, kClasses> by_class;
};

// The timed loop of the latency benchmarks: the clock pair brackets only the engine call.
[[gnu::noinline]] std::uint64_t run_measured_timed(engine_pass& pass, const scenario& s,
                                                   const std::vector<op_class>& classes,
                                                   latency_histograms& h) {
  engine::matching_engine& eng = pass.engine();
  engine::event_buffer& out = pass.out();
  std::uint64_t events = 0;
  const std::size_t n = s.measured.size();
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t t0 = cycle_clock::start();
    const engine::command_result r = execute(eng, s.measured[i], out);
    const std::uint64_t t1 = cycle_clock::stop();
    if (!r.ok()) [[unlikely]]
      pass.rejected("measured", i, r.error);
    const auto ticks = static_cast<std::int64_t>(t1 - t0);
    h.all.record(ticks);
    h.by_class[static_cast<std::size_t>(classes[i])].record(ticks);
    events += out.size();
    out.clear();
  }
  benchmark::DoNotOptimize(events);
  return events;
}

void report_common(benchmark::State& state, const scenario& s, std::uint64_t allocations) {
  const auto ops = static_cast<std::int64_t>(s.measured.size()) * state.iterations();
  state.SetItemsProcessed(ops);
  state.counters["ns/op"] = benchmark::Counter(
      static_cast<double>(ops), static_cast<benchmark::Counter::Flags>(
                                    benchmark::Counter::kIsRate | benchmark::Counter::kInvert));
  state.counters["allocs/pass"] =
      static_cast<double>(allocations) / static_cast<double>(state.iterations());
  state.counters["trades/op"] =
      static_cast<double>(s.expected.measured_trades) / static_cast<double>(s.measured.size());
  state.counters["book_orders"] = static_cast<double>(s.stats.warm_orders);
  state.counters["book_levels"] =
      static_cast<double>(s.stats.warm_bid_levels + s.stats.warm_ask_levels);
}

using scenario_factory = const scenario& (*)();

// `as_generated`: the engine options the scenario was generated with (the engine's
// defaults unless the scenario says otherwise). `presized`: every pool and the id index
// reserved up front for all the ids a pass will ever see, so nothing grows inside the
// timed loop; the gap between the two is what that growth costs.
enum class sizing : std::uint8_t { as_generated, presized };

engine::engine_options options_for(const scenario& s, sizing how) {
  engine::engine_options o = s.options;
  if (how == sizing::presized) {
    o.expected_orders_per_book =
        std::max(o.expected_orders_per_book, s.warmup.size() + s.measured.size());
  }
  return o;
}

void bm_throughput(benchmark::State& state, scenario_factory make, sizing how) {
  const scenario& s = make();
  engine_pass pass(s, options_for(s, how));
  std::uint64_t events = 0;
  std::uint64_t allocations = 0;
  bool have_pass = false;
  for (auto _ : state) {
    state.PauseTiming();
    if (have_pass) pass.verify(events);
    pass.prepare();
    state.ResumeTiming();
    const std::uint64_t before = allocation_count.load(std::memory_order_relaxed);
    events = run_measured(pass, s);
    allocations += allocation_count.load(std::memory_order_relaxed) - before;
    have_pass = true;
  }
  if (have_pass) pass.verify(events);
  report_common(state, s, allocations);
}

double ns(std::uint64_t ticks) {
  return static_cast<double>(ticks) / cycle_clock::ticks_per_ns();
}

// What an empty start()/stop() pair measures: the floor under every latency figure.
std::uint64_t clock_overhead_ticks() {
  static const std::uint64_t kTicks = [] {
    auto h = std::make_unique<latency_histogram>();
    for (int i = 0; i < 200'000; ++i) {
      const std::uint64_t t0 = cycle_clock::start();
      const std::uint64_t t1 = cycle_clock::stop();
      h->record(static_cast<std::int64_t>(t1 - t0));
    }
    return static_cast<std::uint64_t>(h->value_at_percentile(50));
  }();
  return kTicks;
}

void bm_latency(benchmark::State& state, scenario_factory make, sizing how) {
  const scenario& s = make();
  std::vector<op_class> classes;
  classes.reserve(s.measured_kinds.size());
  for (command_kind k : s.measured_kinds) classes.push_back(class_of(k));
  auto h = std::make_unique<latency_histograms>();
  const std::uint64_t overhead = clock_overhead_ticks();

  engine_pass pass(s, options_for(s, how));
  std::uint64_t events = 0;
  std::uint64_t allocations = 0;
  bool have_pass = false;
  for (auto _ : state) {
    state.PauseTiming();
    if (have_pass) pass.verify(events);
    pass.prepare();
    state.ResumeTiming();
    const std::uint64_t before = allocation_count.load(std::memory_order_relaxed);
    events = run_measured_timed(pass, s, classes, *h);
    allocations += allocation_count.load(std::memory_order_relaxed) - before;
    have_pass = true;
  }
  if (have_pass) pass.verify(events);
  report_common(state, s, allocations);

  state.counters["p50_ns"] = ns(h->all.value_at_percentile(50));
  state.counters["p99_ns"] = ns(h->all.value_at_percentile(99));
  state.counters["p99.9_ns"] = ns(h->all.value_at_percentile(99.9));
  state.counters["p99.99_ns"] = ns(h->all.value_at_percentile(99.99));
  state.counters["max_ns"] = ns(static_cast<std::uint64_t>(h->all.max()));
  state.counters["clock_ns"] = ns(overhead);
  const auto classes_seen = std::count_if(h->by_class.begin(), h->by_class.end(),
                                          [](const latency_histogram& c) { return c.count() > 0; });
  if (classes_seen > 1) {
    for (std::size_t c = 0; c < kClasses; ++c) {
      if (h->by_class[c].count() == 0) continue;
      const std::string name = kClassNames[c];
      state.counters[name + "_p50_ns"] = ns(h->by_class[c].value_at_percentile(50));
      state.counters[name + "_p99_ns"] = ns(h->by_class[c].value_at_percentile(99));
      state.counters[name + "_p99.9_ns"] = ns(h->by_class[c].value_at_percentile(99.9));
    }
  }
}

enum class growth_load : std::uint8_t { ids, book };

std::int64_t thread_cpu_ns() noexcept {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

constexpr std::size_t kGrowthIds = 2'000'000;
constexpr std::size_t kGrowthResting = 400'000;
constexpr std::int64_t kGrowthPrices = 1'000;

// Commands are made one at a time next to the clock pair rather than pre-generated:
// two million of them would take 350 MB.
void bm_growth(benchmark::State& state, growth_load load, sizing how) {
  const std::size_t n = load == growth_load::ids ? kGrowthIds : kGrowthResting;
  engine::engine_options options;  // the daemon's defaults (--expected-orders 65536)
  if (how == sizing::presized) {
    if (load == growth_load::ids) {
      options.expected_ids = n;
    } else {
      options.expected_orders_per_book = n;
    }
  }
  auto h = std::make_unique<latency_histogram>();
  const std::uint64_t overhead = clock_overhead_ticks();
  engine::event_buffer out;
  out.reserve(kEventReserve);
  engine::place_order cmd;
  cmd.client = engine::client_id::from("growth");
  cmd.order_side = engine::side::buy;  // nothing to cross: the book has no asks
  cmd.type = engine::order_type::limit;
  cmd.tif = load == growth_load::ids ? engine::time_in_force::ioc : engine::time_in_force::gtc;
  cmd.quantity = engine::quantity_lots{1};
  std::uint64_t allocations = 0;
  std::int64_t max_cpu = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto eng = std::make_unique<engine::matching_engine>(bench_instruments(), options);
    state.ResumeTiming();
    const std::uint64_t before = allocation_count.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < n; ++i) {
      char id[24];
      const int len = std::snprintf(id, sizeof id, "g-%zu", i);
      cmd.id = engine::order_id::from(std::string_view(id, static_cast<std::size_t>(len)));
      cmd.price = engine::price_ticks{1'000'000 + static_cast<std::int64_t>(i) % kGrowthPrices};
      cmd.received_at = static_cast<engine::timestamp_us>(i);
      const std::int64_t c0 = thread_cpu_ns();
      const std::uint64_t t0 = cycle_clock::start();
      const engine::command_result r = eng->place(cmd, out);
      const std::uint64_t t1 = cycle_clock::stop();
      const std::int64_t c1 = thread_cpu_ns();
      max_cpu = std::max(max_cpu, c1 - c0);
      if (!r.ok()) [[unlikely]] {
        std::fprintf(stderr, "engine_benchmark: growth command %zu rejected: %s\n", i,
                     std::string(engine::to_code(r.error)).c_str());
        std::abort();
      }
      h->record(static_cast<std::int64_t>(t1 - t0));
      out.clear();
    }
    allocations += allocation_count.load(std::memory_order_relaxed) - before;
    state.PauseTiming();
    eng.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(n) * state.iterations());
  state.counters["allocs/pass"] =
      static_cast<double>(allocations) / static_cast<double>(state.iterations());
  state.counters["p50_ns"] = ns(h->value_at_percentile(50));
  state.counters["p99.9_ns"] = ns(h->value_at_percentile(99.9));
  state.counters["p99.99_ns"] = ns(h->value_at_percentile(99.99));
  state.counters["max_ns"] = ns(static_cast<std::uint64_t>(h->max()));
  state.counters["max_cpu_ns"] = static_cast<double>(max_cpu);
  state.counters["clock_ns"] = ns(overhead);
}

// Passes per run: enough timed work per repetition to be stable, while the untimed
// warm-up replay (~300k commands per pass) keeps the total wall time reasonable.
struct registration {
  const char* name;
  scenario_factory make;
  sizing how;
  benchmark::IterationCount passes;
};
constexpr registration kScenarios[] = {
    {"mix", &mix_scenario, sizing::as_generated, 4},
    {"mix_presized", &mix_scenario, sizing::presized, 4},
    {"mix_options", &mix_options_scenario, sizing::as_generated, 4},
    {"mix_stops", &mix_stops_scenario, sizing::as_generated, 4},
    {"add", &add_scenario, sizing::as_generated, 16},
    {"cancel", &cancel_scenario, sizing::as_generated, 16},
    {"sweep", &sweep_scenario, sizing::as_generated, 16},
};

void register_benchmarks() {
  for (const registration& r : kScenarios) {
    const std::string base = std::string("engine_") + r.name;
    benchmark::RegisterBenchmark((base + "/throughput").c_str(), bm_throughput, r.make, r.how)
        ->Iterations(r.passes)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((base + "/latency").c_str(), bm_latency, r.make, r.how)
        ->Iterations(r.passes)
        ->Unit(benchmark::kMillisecond);
  }
  for (const auto& [what, load] :
       {std::pair{"ids", growth_load::ids}, {"book", growth_load::book}}) {
    for (const auto& [label, how] :
         {std::pair{"default", sizing::as_generated}, {"presized", sizing::presized}}) {
      benchmark::RegisterBenchmark((std::string("engine_growth_") + what + "/" + label).c_str(),
                                   bm_growth, load, how)
          ->Iterations(1)
          ->Unit(benchmark::kMillisecond);
    }
  }
}

}  // namespace
}  // namespace matchd::bench

int main(int argc, char** argv) {
  matchd::bench::register_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
