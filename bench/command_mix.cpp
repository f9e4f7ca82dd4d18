#include "command_mix.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <sstream>
#include <utility>

namespace matchd::bench {
namespace {

using engine::cancel_order;
using engine::order;
using engine::order_status;
using engine::order_type;
using engine::place_order;
using engine::price_ticks;
using engine::quantity_lots;
using engine::side;
using engine::time_in_force;

constexpr engine::instrument_id kInstrument = 0;
constexpr std::int64_t kStartPrice = 7'015'050;  // 70,150.50 USD in 0.01 ticks
constexpr engine::timestamp_us kStartTime = 1'700'000'000'000'000;
constexpr std::size_t kClients = 200;
constexpr std::uint32_t kNotLive = std::numeric_limits<std::uint32_t>::max();

// Shares of the mix and the shape of the passive price distribution, in ticks from the
// drifting mid. Half the adds join the first few ticks, most of the rest the first few
// dozen; a thin tail goes deep so the book has hundreds of levels.
struct mix_params {
  double cancel_share = 0.30;
  double marketable_share = 0.10;
  double drift_probability = 0.05;  // per command, the mid moves one tick up or down
  double near_share = 0.50;         // offset 1..8 ticks
  double mid_share = 0.40;          // offset 9..48 ticks; the rest 49..400
  // Quotes near the touch are the ones replaced most: this share of cancels takes the
  // order nearest the mid among a few random live ones, the rest any live order.
  double near_cancel_share = 0.7;
  std::size_t near_cancel_candidates = 6;
  // The order options (make_mix_options_scenario); the defaults leave the mix as it was.
  std::size_t clients = kClients;
  double amend_share = 0.0;      // of the cancels, replaced by an amend of the same order
  double post_only_share = 0.0;  // of the passive adds
  bool every_stp_mode = false;   // takers pick any mode; otherwise the default, cancel_taker
  double stop_share = 0.0;       // of the passive adds, placed as stop orders instead
};

[[noreturn]] void generator_failure(const char* what, std::uint64_t n, engine::errc e) {
  std::fprintf(stderr, "command generator: %s (command %llu): %.*s\n", what,
               static_cast<unsigned long long>(n), static_cast<int>(engine::to_code(e).size()),
               engine::to_code(e).data());
  std::abort();
}

// Runs every command it generates through its own engine, so it always knows which
// orders rest and what the book looks like, and records what the replay must produce.
class command_generator {
 public:
  command_generator(std::uint64_t seed, engine::engine_options options)
      : engine_(bench_instruments(), options), rng_(seed) {
    out_.reserve(4096);
  }

  // Where generated commands go; `measured` also counts events, trades and kinds.
  void start_warmup(scenario& s) {
    sink_ = &s.warmup;
    kinds_ = nullptr;
    stats_ = nullptr;
  }
  void start_measured(scenario& s) {
    const auto& b = engine_.book(kInstrument);
    s.stats.warm_orders = b.order_count();
    s.stats.warm_bid_levels = b.level_count(side::buy);
    s.stats.warm_ask_levels = b.level_count(side::sell);
    s.stats.min_orders = s.stats.max_orders = b.order_count();
    s.stats.min_levels = s.stats.max_levels = levels();
    sink_ = &s.measured;
    kinds_ = &s.measured_kinds;
    stats_ = &s.stats;
    expected_ = &s.expected;
    trades_at_start_ = engine_.last_trade_id();
  }
  void finish(scenario& s) {
    const auto& b = engine_.book(kInstrument);
    s.expected.last_sequence = engine_.last_sequence();
    s.expected.last_trade_id = engine_.last_trade_id();
    s.expected.resting_orders = b.order_count();
    s.expected.bid_levels = b.level_count(side::buy);
    s.expected.ask_levels = b.level_count(side::sell);
    s.expected.best_bid = b.best_bid();
    s.expected.best_ask = b.best_ask();
    s.expected.measured_trades = engine_.last_trade_id() - trades_at_start_;
    const std::string broken = engine_.check_invariants();
    if (!broken.empty()) {
      std::fprintf(stderr, "command generator: engine invariants broken: %s\n", broken.c_str());
      std::abort();
    }
  }

  void set_params(const mix_params& p) { params_ = p; }

  void passive_adds(std::size_t n, const mix_params& p) {
    for (std::size_t i = 0; i < n; ++i) {
      drift(p);
      passive_add(p);
    }
  }

  void mix(std::size_t n, const mix_params& p) {
    for (std::size_t i = 0; i < n; ++i) {
      drift(p);
      const double roll = unit();
      if (roll < p.cancel_share && !live_.empty()) {
        if (p.amend_share > 0 && unit() < p.amend_share) {
          amend(pick_cancel(p));
        } else {
          cancel(pick_cancel(p));
        }
      } else if (roll < p.cancel_share + p.marketable_share && can_take()) {
        marketable(taker_side());
      } else {
        passive_add(p);
      }
    }
  }

  // Adds 1 to `per_level_max` orders at each of `depth` consecutive ticks per side,
  // outward from the current touch: a deep book for the sweep micro benchmark.
  void ladder(std::size_t depth, std::size_t per_level_max) {
    const auto& b = engine_.book(kInstrument);
    const std::int64_t bid = b.best_bid() ? b.best_bid()->value : mid_ - 1;
    const std::int64_t ask = b.best_ask() ? b.best_ask()->value : mid_ + 1;
    for (std::size_t d = 0; d < depth; ++d) {
      const auto offset = static_cast<std::int64_t>(d);
      for (std::size_t k = 1 + uniform(per_level_max); k > 0; --k) {
        add(side::buy, price_ticks{bid - offset}, quantity(), command_kind::passive_add);
        add(side::sell, price_ticks{ask + offset}, quantity(), command_kind::passive_add);
      }
    }
  }

  void sweeps(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      const side s = unit() < 0.5 ? side::buy : side::sell;
      if (engine_.book(kInstrument).level_count(engine::opposite(s)) == 0) {
        std::fprintf(stderr, "command generator: the ladder ran out of levels\n");
        std::abort();
      }
      marketable(s);
    }
  }

  // Numbers of the orders numbered `first` or later that rest now.
  std::vector<std::uint32_t> live_added_after(std::uint32_t first) const {
    std::vector<std::uint32_t> ids;
    for (std::uint32_t n : live_) {
      if (n >= first) ids.push_back(n);
    }
    return ids;
  }
  std::uint32_t next_order_number() const { return next_order_; }
  void cancel_each(std::vector<std::uint32_t> numbers) {
    std::shuffle(numbers.begin(), numbers.end(), rng_);
    for (std::uint32_t n : numbers) cancel(n);
  }

 private:
  static std::uint64_t command_number(engine::timestamp_us received_at) {
    return static_cast<std::uint64_t>(received_at - kStartTime);
  }
  std::uint64_t uniform(std::uint64_t n) { return rng_() % n; }
  double unit() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(uniform(static_cast<std::uint64_t>(hi - lo + 1)));
  }

  std::size_t levels() const {
    const auto& b = engine_.book(kInstrument);
    return b.level_count(side::buy) + b.level_count(side::sell);
  }

  void drift(const mix_params& p) {
    if (unit() < p.drift_probability) mid_ += unit() < 0.5 ? -1 : 1;
  }

  // 1 to 99 units of 0.00001, 0.0001, 0.001 or 0.01 BTC: many small orders, few large.
  quantity_lots quantity() {
    static constexpr std::int64_t kUnit[] = {1'000, 10'000, 100'000, 1'000'000};
    return quantity_lots{between(1, 99) * kUnit[uniform(4)]};
  }

  void passive_add(const mix_params& p) {
    const side s = unit() < 0.5 ? side::buy : side::sell;
    if (p.stop_share > 0 && unit() < p.stop_share) return stop_add(s);
    const double roll = unit();
    const std::int64_t offset = roll < p.near_share                 ? between(1, 8)
                                : roll < p.near_share + p.mid_share ? between(9, 48)
                                                                    : between(49, 400);
    const auto& b = engine_.book(kInstrument);
    std::int64_t px = 0;
    if (s == side::buy) {
      px = mid_ - offset;
      if (const auto ask = b.best_ask()) px = std::min(px, ask->value - 1);
    } else {
      px = mid_ + offset;
      if (const auto bid = b.best_bid()) px = std::max(px, bid->value + 1);
    }
    post_only_ = p.post_only_share > 0 && unit() < p.post_only_share;
    add(s, price_ticks{px}, quantity(), command_kind::passive_add);
    post_only_ = false;
  }

  // A stop a few ticks beyond the mid on its trigger side (a buy stop above, a sell stop
  // below), half of them stop_limit with a limit two ticks past the stop.
  void stop_add(side s) {
    const std::int64_t offset = between(1, 8);
    const std::int64_t stop = s == side::buy ? mid_ + offset : mid_ - offset;
    stop_price_ = price_ticks{stop};
    if (unit() < 0.5) {
      take(s, order_type::market, time_in_force::ioc, price_ticks{}, quantity(),
           command_kind::stop_add);
    } else {
      const std::int64_t limit = s == side::buy ? stop + 2 : stop - 2;
      take(s, order_type::limit, time_in_force::gtc, price_ticks{limit}, quantity(),
           command_kind::stop_add);
    }
    stop_price_ = price_ticks{};
  }

  std::uint32_t pick_cancel(const mix_params& p) {
    std::uint32_t best = live_[uniform(live_.size())];
    if (unit() >= p.near_cancel_share) return best;
    std::int64_t best_distance = distance_to_mid(best);
    for (std::size_t k = 1; k < p.near_cancel_candidates; ++k) {
      const std::uint32_t n = live_[uniform(live_.size())];
      if (const std::int64_t d = distance_to_mid(n); d < best_distance) {
        best = n;
        best_distance = d;
      }
    }
    return best;
  }
  std::int64_t distance_to_mid(std::uint32_t n) const {
    const std::int64_t d = live_price_[n] - mid_;
    return d < 0 ? -d : d;
  }

  bool can_take() const {
    const auto& b = engine_.book(kInstrument);
    return b.level_count(side::buy) > 3 && b.level_count(side::sell) > 3;
  }

  // Leans toward the side that pulls the book back to the drifting mid.
  side taker_side() {
    const auto& b = engine_.book(kInstrument);
    const std::int64_t book_mid = (b.best_bid()->value + b.best_ask()->value) / 2;
    const double buy = mid_ > book_mid + 1 ? 0.7 : mid_ < book_mid - 1 ? 0.3 : 0.5;
    return unit() < buy ? side::buy : side::sell;
  }

  void marketable(side s) {
    const auto& b = engine_.book(kInstrument);
    const std::size_t want = 1 + uniform(3);
    engine::order_book::level_view levels[3]{};
    std::size_t found = 0;
    b.for_each_level(engine::opposite(s), want, [&](const engine::order_book::level_view& l) {
      levels[found++] = l;
      return true;
    });
    quantity_lots qty{};
    for (std::size_t i = 0; i + 1 < found; ++i) qty += levels[i].quantity;
    const engine::order_book::level_view& last = levels[found - 1];
    qty += quantity_lots{between(1, last.quantity.value)};

    const double roll = unit();
    if (roll < 0.4) {
      take(s, order_type::market, time_in_force::ioc, price_ticks{}, qty, command_kind::market);
    } else if (roll < 0.75) {
      take(s, order_type::limit, time_in_force::ioc, last.price, qty, command_kind::ioc_limit);
    } else {
      if (unit() < 0.5) qty += quantity();  // the remainder rests at the swept price
      take(s, order_type::limit, time_in_force::gtc, last.price, qty, command_kind::aggressive_gtc);
    }
  }

  void add(side s, price_ticks px, quantity_lots qty, command_kind kind) {
    take(s, order_type::limit, time_in_force::gtc, px, qty, kind);
  }

  void take(side s, order_type type, time_in_force tif, price_ticks px, quantity_lots qty,
            command_kind kind) {
    place_order cmd;
    cmd.id = order_id_of(next_order_++);
    cmd.client = client_id_of(uniform(params_.clients));
    cmd.post_only = post_only_;
    cmd.stop_price = stop_price_;
    if (params_.every_stp_mode && kind != command_kind::passive_add) {
      cmd.stp = static_cast<engine::stp_mode>(uniform(4));
    }
    cmd.instrument = kInstrument;
    cmd.order_side = s;
    cmd.type = type;
    cmd.tif = tif;
    cmd.price = px;
    cmd.quantity = qty;
    cmd.received_at = now_++;
    const engine::trade_id trades_before = engine_.last_trade_id();
    const engine::command_result r = engine_.place(cmd, out_);
    if (!r.ok()) generator_failure("place rejected", command_number(cmd.received_at), r.error);
    if (stats_ != nullptr && kind != command_kind::passive_add) {
      ++stats_->takers;
      std::uint64_t prices = 0;
      engine::price_ticks previous{-1};
      for (const engine::event& e : out_) {
        if (const auto* t = std::get_if<engine::trade>(&e); t != nullptr && t->price != previous) {
          ++prices;
          previous = t->price;
        }
      }
      stats_->levels_swept += prices;
    }
    if (kind == command_kind::passive_add && engine_.last_trade_id() != trades_before) {
      std::fprintf(stderr, "command generator: a passive add traded\n");
      std::abort();
    }
    record(command{cmd}, kind);
  }

  void cancel(std::uint32_t number) {
    cancel_order cmd;
    cmd.id = order_id_of(number);
    cmd.received_at = now_++;
    const engine::command_result r = engine_.cancel(cmd, out_);
    if (!r.ok()) generator_failure("cancel rejected", command_number(cmd.received_at), r.error);
    record(command{cmd}, command_kind::cancel);
  }

  // Half the amends shorten the order where it rests (keeping its place), half move it a
  // tick away from the mid (to the back of that level); neither makes it cross.
  void amend(std::uint32_t number) {
    const order* o = engine_.find_resting(order_id_of(number).view());
    if (o == nullptr) generator_failure("amend of an order not resting", number, engine::errc::ok);
    engine::amend_order cmd;
    cmd.id = o->id;
    cmd.instrument = kInstrument;
    cmd.received_at = now_++;
    if (unit() < 0.5) {
      cmd.quantity = o->filled + quantity_lots{std::max<std::int64_t>(1, o->remaining().value / 2)};
    } else {
      cmd.price = price_ticks{o->order_side == side::buy ? o->price.value - 1 : o->price.value + 1};
    }
    const engine::command_result r = engine_.amend(cmd, out_);
    if (!r.ok()) generator_failure("amend rejected", command_number(cmd.received_at), r.error);
    record(command{cmd}, command_kind::amend);
  }

  void record(command c, command_kind kind) {
    for (const engine::event& e : out_) {
      const auto* o = std::get_if<order>(&e);
      if (o == nullptr) continue;
      const std::uint32_t n = number_of(o->id);
      if (engine::is_final(o->status)) {
        forget(n);
      } else {
        remember(n, o->price.value);
      }
    }
    if (kinds_ != nullptr) {
      kinds_->push_back(kind);
      ++stats_->kinds[static_cast<std::size_t>(kind)];
      expected_->measured_events += out_.size();
      if (sink_->size() % 1024 == 0) {
        const std::size_t orders = engine_.book(kInstrument).order_count();
        stats_->min_orders = std::min(stats_->min_orders, orders);
        stats_->max_orders = std::max(stats_->max_orders, orders);
        stats_->min_levels = std::min(stats_->min_levels, levels());
        stats_->max_levels = std::max(stats_->max_levels, levels());
      }
    }
    out_.clear();
    sink_->push_back(std::move(c));
  }

  void remember(std::uint32_t n, std::int64_t price) {
    if (n >= live_pos_.size()) {
      const std::size_t size = std::max<std::size_t>(n + 1, 2 * live_pos_.size());
      live_pos_.resize(size, kNotLive);
      live_price_.resize(size, 0);
    }
    if (live_pos_[n] != kNotLive) return;
    live_price_[n] = price;
    live_pos_[n] = static_cast<std::uint32_t>(live_.size());
    live_.push_back(n);
  }
  void forget(std::uint32_t n) {
    if (n >= live_pos_.size() || live_pos_[n] == kNotLive) return;
    const std::uint32_t pos = live_pos_[n];
    live_[pos] = live_.back();
    live_pos_[live_[pos]] = pos;
    live_.pop_back();
    live_pos_[n] = kNotLive;
  }

  // "ord-0000012345": a 14-character client order id, a typical length for the API.
  static engine::order_id order_id_of(std::uint32_t n) {
    char buf[16] = "ord-0000000000";
    char digits[10];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
    const auto len = static_cast<std::size_t>(end - digits);
    std::copy(digits, end, buf + 14 - len);
    return engine::order_id::from(std::string_view(buf, 14));
  }
  static std::uint32_t number_of(const engine::order_id& id) {
    const std::string_view v = id.view();
    std::uint32_t n = 0;
    std::from_chars(v.data() + 4, v.data() + v.size(), n);
    return n;
  }
  static engine::client_id client_id_of(std::uint64_t n) {
    char buf[16];
    const int len = std::snprintf(buf, sizeof buf, "client-%03u", static_cast<unsigned>(n));
    return engine::client_id::from(std::string_view(buf, static_cast<std::size_t>(len)));
  }

  engine::matching_engine engine_;
  engine::event_buffer out_;
  std::mt19937_64 rng_;
  std::int64_t mid_ = kStartPrice;
  std::uint32_t next_order_ = 1;
  engine::timestamp_us now_ = kStartTime;
  price_ticks stop_price_{};              // of the order take() places next
  std::vector<std::uint32_t> live_;       // order numbers resting now
  std::vector<std::uint32_t> live_pos_;   // order number -> index in live_, or kNotLive
  std::vector<std::int64_t> live_price_;  // order number -> its limit price, while live

  mix_params params_;
  bool post_only_ = false;  // for the passive add being made

  std::vector<command>* sink_ = nullptr;
  std::vector<command_kind>* kinds_ = nullptr;
  scenario_stats* stats_ = nullptr;
  scenario_outcome* expected_ = nullptr;
  engine::trade_id trades_at_start_ = 0;
};

constexpr std::size_t kInitialDepth = 4'000;      // adds before the mix starts
constexpr std::size_t kWarmupCommands = 300'000;  // of the mix, after the initial depth

// The warm-up every scenario starts from: an initial book, then the mix long enough for
// the book to reach its steady depth and the engine's pools and index to have grown.
void warm_up(command_generator& g, scenario& s, const mix_params& p) {
  g.set_params(p);
  g.start_warmup(s);
  g.passive_adds(kInitialDepth, p);
  g.mix(kWarmupCommands, p);
}

}  // namespace

std::vector<engine::instrument> bench_instruments() {
  return {engine::instrument::btc_usd()};
}

namespace {
// The mix with parameters `p`: the warm-up, then `measured_commands` of the same mix.
scenario make_mix_with(std::string name, const mix_params& p, std::size_t measured_commands,
                       std::uint64_t seed) {
  scenario s;
  s.name = std::move(name);
  command_generator g(seed, s.options);
  warm_up(g, s, p);
  g.start_measured(s);
  g.mix(measured_commands, p);
  g.finish(s);
  return s;
}
}  // namespace

scenario make_mix_scenario(std::size_t measured_commands, std::uint64_t seed) {
  return make_mix_with("mix", mix_params{}, measured_commands, seed);
}

scenario make_mix_options_scenario(std::size_t measured_commands, std::uint64_t seed) {
  mix_params p;
  p.clients = 20;
  p.amend_share = 1.0 / 3;
  p.post_only_share = 0.2;
  p.every_stp_mode = true;
  return make_mix_with("mix_options", p, measured_commands, seed);
}

scenario make_mix_stops_scenario(std::size_t measured_commands, std::uint64_t seed) {
  mix_params p;
  p.stop_share = 0.1;
  return make_mix_with("mix_stops", p, measured_commands, seed);
}

namespace {
// Micro benchmarks isolate the cost of one kind of command, so their engine is sized up
// front for every order and id of a pass, as a deployment sizes it for its expected
// load; the cost of growing (shown by the mix) stays out of them.
void presize(scenario& s) {
  s.options.expected_orders_per_book = s.warmup.size() + s.measured.size();
}
}  // namespace

scenario make_add_scenario(std::size_t measured_commands, std::uint64_t seed) {
  scenario s;
  s.name = "add";
  const mix_params p;
  command_generator g(seed, s.options);
  warm_up(g, s, p);
  g.start_measured(s);
  g.passive_adds(measured_commands, p);
  g.finish(s);
  presize(s);
  return s;
}

scenario make_cancel_scenario(std::size_t measured_commands, std::uint64_t seed) {
  scenario s;
  s.name = "cancel";
  const mix_params p;
  command_generator g(seed, s.options);
  warm_up(g, s, p);
  const std::uint32_t first = g.next_order_number();
  g.passive_adds(measured_commands, p);
  g.start_measured(s);
  g.cancel_each(g.live_added_after(first));
  g.finish(s);
  presize(s);
  return s;
}

scenario make_sweep_scenario(std::size_t measured_commands, std::uint64_t seed) {
  scenario s;
  s.name = "sweep";
  const mix_params p;
  command_generator g(seed, s.options);
  warm_up(g, s, p);
  // Takers eat about two levels each, from either side, and aggressive GTC remainders
  // rest in front of the ladder; 1.5 levels per taker per side leaves a margin.
  g.ladder(measured_commands * 3 / 2 + 1'000, 3);
  g.start_measured(s);
  g.sweeps(measured_commands);
  g.finish(s);
  presize(s);
  return s;
}

std::string describe(const scenario& s) {
  const scenario_stats& st = s.stats;
  const double n = static_cast<double>(std::max<std::size_t>(s.measured.size(), 1));
  std::ostringstream os;
  os.precision(3);
  os << s.name << ": " << s.warmup.size() << " warm-up + " << s.measured.size()
     << " measured commands; book after warm-up " << st.warm_orders << " orders, "
     << st.warm_bid_levels << " bid / " << st.warm_ask_levels
     << " ask levels; during: " << st.min_orders << ".." << st.max_orders << " orders, "
     << st.min_levels << ".." << st.max_levels << " levels; mix: adds "
     << 100.0 * static_cast<double>(st.kinds[0]) / n << "%, cancels "
     << 100.0 * static_cast<double>(st.kinds[1]) / n << "%, market "
     << 100.0 * static_cast<double>(st.kinds[2]) / n << "%, ioc "
     << 100.0 * static_cast<double>(st.kinds[3]) / n << "%, aggressive gtc "
     << 100.0 * static_cast<double>(st.kinds[4]) / n << "%, amends "
     << 100.0 * static_cast<double>(st.kinds[5]) / n << "%, stops "
     << 100.0 * static_cast<double>(st.kinds[6]) / n << "%; trades " << s.expected.measured_trades
     << " (" << static_cast<double>(s.expected.measured_trades) / n << "/command, "
     << (st.takers == 0
             ? 0.0
             : static_cast<double>(s.expected.measured_trades) / static_cast<double>(st.takers))
     << "/taker), levels swept per taker "
     << (st.takers == 0 ? 0.0
                        : static_cast<double>(st.levels_swept) / static_cast<double>(st.takers))
     << ", events/command " << static_cast<double>(s.expected.measured_events) / n;
  return os.str();
}

}  // namespace matchd::bench
