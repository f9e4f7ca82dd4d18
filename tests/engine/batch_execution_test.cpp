// matching_engine::execute must be indistinguishable from calling place/cancel one
// command at a time: same results, same events in the same order, same books. The
// stream is random and crowded on purpose: duplicate ids (also within one batch), cancels
// of ids placed earlier in the same batch, of finished and of unknown orders, and every
// order type.

#include <gtest/gtest.h>
#include <matchd/engine/matching_engine.h>

#include <cstdint>
#include <random>
#include <string>
#include <variant>
#include <vector>

namespace matchd::engine {
namespace {

struct command {
  place_order place;
  cancel_order cancel;
  amend_order amend;
  cancel_all_orders cancel_all;
  bool is_place = true;
  bool is_amend = false;       // not a place: an amend,
  bool is_cancel_all = false;  // or a mass cancel, else a cancel
};

std::string text_of(const order& o) {
  return "order " + std::string(o.id.view()) + " " + std::string(o.client.view()) + " " +
         std::string(to_string(o.order_side)) + " " + std::string(to_string(o.type)) + " " +
         std::string(to_string(o.tif)) + " " + std::string(to_string(o.status)) + " px " +
         std::to_string(o.price.value) + " qty " + std::to_string(o.quantity.value) + " filled " +
         std::to_string(o.filled.value) + " notional " +
         std::to_string(static_cast<long long>(o.notional)) + " at " +
         std::to_string(o.created_at) + "/" + std::to_string(o.updated_at) + " seq " +
         std::to_string(o.created_sequence) + "/" + std::to_string(o.sequence) + " " +
         std::string(to_string(o.reason)) + " " + std::string(to_string(o.stp)) +
         (o.post_only ? " post_only" : "") + (o.amended ? " amended" : "") + " stop " +
         std::to_string(o.stop_price.value) + (o.triggered ? " triggered" : "");
}
std::string text_of(const trade& t) {
  return "trade " + std::to_string(t.id) + " px " + std::to_string(t.price.value) + " qty " +
         std::to_string(t.quantity.value) + " " + std::string(to_string(t.aggressor)) + " " +
         std::string(t.buy_order_id.view()) + "/" + std::string(t.sell_order_id.view()) + " at " +
         std::to_string(t.executed_at) + " seq " + std::to_string(t.sequence);
}
std::string text_of(const level_delta& d) {
  return "delta " + std::string(to_string(d.level_side)) + " px " + std::to_string(d.price.value) +
         " qty " + std::to_string(d.quantity.value) + " orders " + std::to_string(d.orders) +
         " seq " + std::to_string(d.sequence);
}
std::string text_of(const event& e) {
  return std::visit([](const auto& v) { return text_of(v); }, e);
}

std::vector<command> random_commands(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto below = [&](std::uint64_t k) { return rng() % k; };
  std::vector<command> commands;
  std::uint64_t next_id = 0;
  for (std::size_t i = 0; i < n; ++i) {
    command c;
    // Ids come mostly fresh, sometimes reused (duplicates), cancels name recent ids,
    // whatever became of them, and now and then one never used.
    const std::uint64_t roll = below(100);
    if (roll == 99) {
      // A mass cancel of one of the clients, which prefetches no id.
      c.is_place = false;
      c.is_cancel_all = true;
      c.cancel_all.client = client_id::from("c-" + std::to_string(below(5)));
      c.cancel_all.received_at = static_cast<timestamp_us>(i);
      commands.push_back(c);
      continue;
    }
    if (roll < 35 && next_id > 0) {
      c.is_place = false;
      const std::uint64_t id =
          roll < 3 ? next_id + 1000 : next_id - 1 - below(std::min<std::uint64_t>(next_id, 40));
      c.cancel.id = order_id::from("o-" + std::to_string(id));
      c.cancel.received_at = static_cast<timestamp_us>(i);
      if (roll >= 25) {  // an amend of the same id: price, quantity or both, some crossing
        c.is_amend = true;
        c.amend.id = c.cancel.id;
        c.amend.received_at = c.cancel.received_at;
        const std::uint64_t what = below(3);
        if (what != 1)
          c.amend.quantity = quantity_lots{static_cast<std::int64_t>(1 + below(50)) * 1000};
        if (what != 0) c.amend.price = price_ticks{9'994 + static_cast<std::int64_t>(below(14))};
      }
      commands.push_back(c);
      continue;
    }
    const std::uint64_t id = roll > 96 && next_id > 0
                                 ? next_id - 1 - below(std::min<std::uint64_t>(next_id, 10))
                                 : next_id++;
    place_order& p = c.place;
    p.id = order_id::from("o-" + std::to_string(id));
    p.client = client_id::from("c-" + std::to_string(below(5)));
    p.stp = static_cast<stp_mode>(below(4));
    p.post_only = p.type == order_type::limit && p.tif == time_in_force::gtc && below(8) == 0;
    p.order_side = below(2) == 0 ? side::buy : side::sell;
    const std::uint64_t kind = below(20);
    p.type = kind == 0 ? order_type::market : order_type::limit;
    p.tif = kind == 1 ? time_in_force::ioc : kind == 2 ? time_in_force::fok : time_in_force::gtc;
    const std::int64_t offset = static_cast<std::int64_t>(below(12)) - 3;  // some cross
    p.price = p.type == order_type::market
                  ? price_ticks{0}
                  : price_ticks{p.order_side == side::buy ? 10'000 - offset : 10'001 + offset};
    p.quantity = quantity_lots{static_cast<std::int64_t>(1 + below(50)) * 1000};
    if (below(20) == 0) {  // a stop, near enough to trigger within the batch now and then
      const auto distance = static_cast<std::int64_t>(below(8)) - 1;
      p.stop_price = price_ticks{p.order_side == side::buy ? 10'001 + distance : 10'000 - distance};
      p.post_only = false;
    }
    p.received_at = static_cast<timestamp_us>(i);
    commands.push_back(c);
  }
  return commands;
}

TEST(batch_execution, equals_running_each_command_on_its_own) {
  const std::vector<command> commands = random_commands(60'000, 20261122);
  engine_options options;
  options.expected_orders_per_book = 64;  // so the index grows inside batches too
  matching_engine single({instrument::btc_usd()}, options);
  matching_engine batched({instrument::btc_usd()}, options);

  std::mt19937_64 rng(5);
  event_buffer single_events;
  event_buffer batched_events;
  std::vector<command_ref> refs;
  std::vector<batch_result> results;
  std::size_t errors = 0;
  std::size_t next = 0;
  while (next < commands.size()) {
    // Batch sizes around and across the look-ahead distance, including 1.
    const std::size_t size = std::min(commands.size() - next, 1 + rng() % 40);
    refs.clear();
    for (std::size_t k = 0; k < size; ++k) {
      const command& c = commands[next + k];
      refs.push_back(c.is_place        ? command_ref{&c.place}
                     : c.is_amend      ? command_ref{nullptr, nullptr, &c.amend}
                     : c.is_cancel_all ? command_ref{nullptr, nullptr, nullptr, &c.cancel_all}
                                       : command_ref{nullptr, &c.cancel});
    }
    results.assign(size, {});
    batched_events.clear();
    batched.execute(refs, results, batched_events);

    std::size_t begin = 0;
    for (std::size_t k = 0; k < size; ++k) {
      const command& c = commands[next + k];
      single_events.clear();
      const command_result expected = c.is_place   ? single.place(c.place, single_events)
                                      : c.is_amend ? single.amend(c.amend, single_events)
                                      : c.is_cancel_all
                                          ? single.cancel_all(c.cancel_all, single_events)
                                          : single.cancel(c.cancel, single_events);
      const command_result actual = results[k].result;
      ASSERT_EQ(actual.error, expected.error) << "command " << next + k;
      ASSERT_EQ(actual.sequence, expected.sequence) << "command " << next + k;
      ASSERT_EQ(results[k].events_end - begin, single_events.size()) << "command " << next + k;
      for (std::size_t e = 0; e < single_events.size(); ++e) {
        ASSERT_EQ(text_of(batched_events[begin + e]), text_of(single_events[e]))
            << "command " << next + k << " event " << e;
      }
      begin = results[k].events_end;
      errors += expected.ok() ? 0 : 1;
    }
    next += size;
  }
  EXPECT_EQ(batched.check_invariants(), "");
  EXPECT_EQ(batched.book(0).order_count(), single.book(0).order_count());
  EXPECT_EQ(batched.last_trade_id(), single.last_trade_id());
  EXPECT_GT(single.last_trade_id(), 5'000u);  // the stream did trade
  EXPECT_GT(errors, 1'000u);                  // and was refused often (duplicates, cancels)
}

TEST(batch_execution, refuses_a_duplicate_within_one_batch_and_cancels_what_it_placed) {
  matching_engine engine({instrument::btc_usd()});
  place_order p;
  p.id = order_id::from("dup");
  p.client = client_id::from("c");
  p.price = price_ticks{10'000};
  p.quantity = quantity_lots{1000};
  cancel_order c;
  c.id = p.id;
  const std::vector<command_ref> refs = {{&p, nullptr, nullptr},
                                         {&p, nullptr, nullptr},
                                         {nullptr, &c, nullptr},
                                         {nullptr, &c, nullptr},
                                         {&p, nullptr, nullptr}};
  std::vector<batch_result> results(refs.size());
  event_buffer out;
  engine.execute(refs, results, out);
  EXPECT_EQ(results[0].result.error, errc::ok);
  EXPECT_EQ(results[1].result.error, errc::duplicate_order_id);
  EXPECT_EQ(results[2].result.error, errc::ok);
  EXPECT_EQ(results[3].result.error, errc::order_not_open);
  EXPECT_EQ(results[4].result.error, errc::duplicate_order_id);  // finished ids stay taken
  EXPECT_EQ(results[1].events_end, results[0].events_end);
  EXPECT_EQ(results[4].events_end, out.size());
  EXPECT_EQ(engine.presence("dup"), order_presence::finished);
}

}  // namespace
}  // namespace matchd::engine
