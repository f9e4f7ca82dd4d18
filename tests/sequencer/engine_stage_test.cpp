#include <gtest/gtest.h>
#include <matchd/sequencer/engine_stage.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "thread_state.h"
#include "wait.h"

namespace matchd::sequencer {
namespace {

using namespace std::chrono_literals;

bus::engine_request limit_buy(std::string_view id) {
  bus::engine_request r;
  r.kind = bus::request_kind::place;
  r.place.id = engine::order_id::from(id);
  r.place.client = engine::client_id::from("c");
  r.place.price = engine::price_ticks(100);
  r.place.quantity = engine::quantity_lots(1);
  return r;
}

// Waits up to `timeout` for a batch on `output`.
bus::engine_batch* next_batch(bus::spsc_queue<bus::engine_batch*>& output,
                              std::chrono::milliseconds timeout) {
  if (!test::wait_until([&] { return output.front() != nullptr; }, timeout, 1ms)) return nullptr;
  bus::engine_batch* batch = *output.front();
  output.pop();
  return batch;
}

// The engine stage's thread, as test::wait_until_asleep knows it.
constexpr std::string_view kEngineThread = "matchd-engine";

// With periodic snapshots on, the snapshot's deadline can pass while every batch is
// downstream (a stalled database holds them in the store stage) and nobody is sending: the
// stage must wait for a batch to come back, not stop taking commands.
TEST(engine_stage, a_snapshot_deadline_passing_while_every_batch_is_downstream_stops_nothing) {
  engine::matching_engine engine({engine::instrument::btc_usd()});
  bus::spsc_queue<bus::engine_request> input(16);
  bus::spsc_queue<bus::engine_batch*> output(4);
  engine_stage stage(engine, {&input}, output, [] {},
                     {.batch_pool = 1, .snapshot_interval = std::chrono::seconds(1)});
  stage.start();

  ASSERT_TRUE(input.try_push(limit_buy("first")));
  stage.notify();
  bus::engine_batch* batch = next_batch(output, 5s);
  ASSERT_NE(batch, nullptr);

  // The only batch stays downstream past the snapshot deadline: the engine's timed wait for
  // the deadline ends, and it goes back to sleep waiting for a batch only (no timeout).
  ASSERT_TRUE(test::wait_until_asleep(kEngineThread, 10s,
                                      [](const test::futex_wait& w) { return !w.timed; })
                  .has_value())
      << "the engine did not wait past the snapshot deadline";
  batch->clear();
  ASSERT_TRUE(stage.recycle_queue().try_push(batch));
  stage.notify();

  ASSERT_TRUE(input.try_push(limit_buy("second")));
  stage.notify();
  bool second_placed = false;
  for (int i = 0; i < 3 && !second_placed; ++i) {  // a snapshot batch may come first
    batch = next_batch(output, 5s);
    ASSERT_NE(batch, nullptr) << "the engine stage stopped taking commands";
    for (const bus::command_outcome& c : batch->commands) {
      second_placed =
          second_placed || (c.kind == bus::request_kind::place && c.subject.view() == "second");
    }
    batch->clear();
    ASSERT_TRUE(stage.recycle_queue().try_push(batch));
    stage.notify();
  }
  EXPECT_TRUE(second_placed);
  stage.stop();
}

// The last stage tells the engine of a returned batch with batch_returned(), which wakes it
// only while it waits for one. An engine that ran out of batches with orders queued must
// take them as soon as one comes back, with no other wake-up.
TEST(engine_stage, a_returned_batch_wakes_an_engine_that_waits_for_one) {
  engine::matching_engine engine({engine::instrument::btc_usd()});
  bus::spsc_queue<bus::engine_request> input(16);
  bus::spsc_queue<bus::engine_batch*> output(4);
  engine_stage stage(engine, {&input}, output, [] {}, {.batch_pool = 1});
  stage.start();

  ASSERT_TRUE(input.try_push(limit_buy("first")));
  stage.notify();
  bus::engine_batch* batch = next_batch(output, 5s);
  ASSERT_NE(batch, nullptr);

  // With its only batch downstream the engine sleeps; the notify below wakes it, and finding
  // an order but no batch it must fall asleep starved again (a new futex value: the notify
  // bumped the word's epoch).
  const std::optional<test::futex_wait> before = test::wait_until_asleep(kEngineThread, 10s);
  ASSERT_TRUE(before.has_value()) << "the engine did not go to sleep with its batch downstream";
  ASSERT_TRUE(input.try_push(limit_buy("second")));
  stage.notify();
  ASSERT_TRUE(test::wait_until_asleep(kEngineThread, 10s,
                                      [&](const test::futex_wait& w) {
                                        return w.address == before->address &&
                                               w.value != before->value;
                                      })
                  .has_value())
      << "the engine did not fall asleep starved after the notify";
  EXPECT_EQ(output.front(), nullptr);

  batch->clear();
  ASSERT_TRUE(stage.recycle_queue().try_push(batch));
  stage.batch_returned();
  batch = next_batch(output, 5s);
  ASSERT_NE(batch, nullptr) << "the returned batch did not wake the engine";
  ASSERT_EQ(batch->commands.size(), 1u);
  EXPECT_EQ(batch->commands[0].subject.view(), "second");
  batch->clear();
  ASSERT_TRUE(stage.recycle_queue().try_push(batch));
  stage.batch_returned();
  stage.stop();
}

}  // namespace
}  // namespace matchd::sequencer

namespace matchd::sequencer {
namespace {

// The fake wall clock of the retention test (a plain function, as the option wants).
std::atomic<engine::timestamp_us> fake_now{0};
engine::timestamp_us fake_clock() {
  return fake_now.load();
}

// The retention horizon: once the (injected) clock passes it, an idle engine stage forgets
// a finished order's id and its idempotency key, and tells the next stage in a batch of
// its own; before it, nothing.
TEST(engine_stage, an_idle_stage_forgets_what_the_horizon_passed_and_says_so_downstream) {
  constexpr engine::timestamp_us kHorizon = 1'000'000;
  engine::matching_engine engine({engine::instrument::btc_usd()}, {.retention_us = kHorizon});
  bus::spsc_queue<bus::engine_request> input(16);
  bus::spsc_queue<bus::engine_batch*> output(4);
  fake_now = 5'000'000;
  engine_stage stage(engine, {&input}, output, [] {},
                     {.batch_pool = 2, .retention_us = kHorizon, .wall_clock = fake_clock});
  stage.start();

  bus::engine_request ioc = limit_buy("ioc-1");  // into an empty book: cancelled at once
  ioc.place.tif = engine::time_in_force::ioc;
  ioc.place.received_at = 5'000'000;
  ioc.idempotency = bus::idempotency_key::from("key-1");
  ASSERT_TRUE(input.try_push(ioc));
  stage.notify();
  bus::engine_batch* batch = next_batch(output, 5s);
  ASSERT_NE(batch, nullptr);
  ASSERT_EQ(batch->commands.size(), 1u);
  const engine::sequence_number sequence = batch->commands[0].sequence;
  EXPECT_TRUE(batch->expired_orders.empty());
  batch->clear();
  ASSERT_TRUE(stage.recycle_queue().try_push(batch));
  stage.batch_returned();

  // Idle ticks before the horizon forget nothing and send nothing.
  EXPECT_EQ(next_batch(output, 600ms), nullptr);
  fake_now = 5'000'000 + kHorizon;
  batch = next_batch(output, 5s);
  ASSERT_NE(batch, nullptr) << "nothing was forgotten past the horizon";
  EXPECT_TRUE(batch->commands.empty());
  ASSERT_EQ(batch->expired_orders.size(), 1u);
  EXPECT_EQ(batch->expired_orders[0].view(), "ioc-1");
  EXPECT_EQ(batch->expired_responses, std::vector<engine::sequence_number>{sequence});
  batch->clear();
  ASSERT_TRUE(stage.recycle_queue().try_push(batch));
  stage.batch_returned();
  stage.stop();
  EXPECT_EQ(engine.presence("ioc-1"), engine::order_presence::unknown);
}

// The clock tick: an idle engine moves its clock to the wall clock and says so in a batch of
// its own, and every event after it is stamped at that time or later, even a command
// received (stamped by its I/O thread) before the tick.
TEST(engine_stage, an_idle_engine_sends_its_clock_and_later_events_are_not_earlier) {
  engine::matching_engine engine({engine::instrument::btc_usd()});
  bus::spsc_queue<bus::engine_request> input(16);
  bus::spsc_queue<bus::engine_batch*> output(4);
  fake_now = 7'000'000;
  engine_stage stage(engine, {&input}, output, [] {},
                     {.batch_pool = 2, .clock_tick = 20ms, .wall_clock = fake_clock});
  stage.start();
  bus::engine_batch* tick = next_batch(output, 5s);
  ASSERT_NE(tick, nullptr) << "an idle engine sent no clock";
  EXPECT_TRUE(tick->commands.empty());
  EXPECT_EQ(tick->clock, 7'000'000);
  tick->clear();
  ASSERT_TRUE(stage.recycle_queue().try_push(tick));
  stage.batch_returned();

  bus::engine_request late = limit_buy("late-1");
  late.place.received_at = 6'000'000;  // before the tick
  ASSERT_TRUE(input.try_push(late));
  stage.notify();
  bus::engine_batch* batch = nullptr;
  // Ticks may come first; the command's batch carries its state.
  for (int i = 0; i < 100 && (batch == nullptr || batch->commands.empty()); ++i) {
    if (batch != nullptr) {
      batch->clear();
      ASSERT_TRUE(stage.recycle_queue().try_push(batch));
      stage.batch_returned();
    }
    batch = next_batch(output, 5s);
    ASSERT_NE(batch, nullptr);
  }
  ASSERT_EQ(batch->commands.size(), 1u);
  ASSERT_FALSE(batch->events.empty());
  const auto* placed = std::get_if<engine::order>(&batch->events[0]);
  ASSERT_NE(placed, nullptr);
  EXPECT_EQ(placed->created_at, 7'000'000);
  EXPECT_GE(batch->clock, 7'000'000);
  batch->clear();
  ASSERT_TRUE(stage.recycle_queue().try_push(batch));
  stage.batch_returned();
  stage.stop();
}

}  // namespace
}  // namespace matchd::sequencer

namespace matchd::sequencer {
namespace {

// The engine keeps no client for a finished order, so a cancel of one is order_not_open
// there; the outcome carries the caller's scope on to the publish stage, which answers a
// foreign one 404 (tests/publish). Other outcomes carry none.
TEST(engine_stage, a_refused_cancel_of_a_finished_order_carries_the_callers_scope) {
  engine::matching_engine engine({engine::instrument::btc_usd()});
  bus::spsc_queue<bus::engine_request> input(16);
  bus::spsc_queue<bus::engine_batch*> output(4);
  engine_stage stage(engine, {&input}, output, [] {}, {.batch_pool = 2});
  stage.start();

  const auto scope = std::make_shared<const engine::client_set>(
      std::vector<engine::client_id>{engine::client_id::from("someone-else")});
  const auto cancel = [&](std::string_view id) {
    bus::engine_request r;
    r.kind = bus::request_kind::cancel;
    r.cancel.id = engine::order_id::from(id);
    r.cancel.scope = scope;
    return r;
  };
  ASSERT_TRUE(input.try_push(limit_buy("o")));
  bus::engine_request plain = cancel("o");
  plain.cancel.scope = nullptr;
  ASSERT_TRUE(input.try_push(plain));        // cancels it: finished now
  ASSERT_TRUE(input.try_push(cancel("o")));  // order_not_open, with the scope
  ASSERT_TRUE(input.try_push(cancel("unknown")));
  stage.notify();

  std::vector<bus::command_outcome> outcomes;
  while (outcomes.size() < 4) {
    bus::engine_batch* batch = next_batch(output, 5s);
    ASSERT_NE(batch, nullptr) << "only " << outcomes.size() << " outcomes came";
    outcomes.insert(outcomes.end(), batch->commands.begin(), batch->commands.end());
    batch->clear();
    ASSERT_TRUE(stage.recycle_queue().try_push(batch));
    stage.notify();
  }
  stage.stop();
  EXPECT_EQ(outcomes[1].error, engine::errc::ok);
  EXPECT_EQ(outcomes[2].error, engine::errc::order_not_open);
  EXPECT_EQ(outcomes[2].scope, scope);
  EXPECT_EQ(outcomes[3].error, engine::errc::order_not_found);
  EXPECT_EQ(outcomes[3].scope, nullptr);
}

// A halt in the middle of a chunk of orders (docs/api.md, Instruments): the orders queued
// before it run, every one after it is instrument_halted, and the halt has its own number
// between them; a resume lets the next ones in.
TEST(engine_stage, orders_after_a_halt_in_the_sequence_are_refused_and_none_before) {
  engine::matching_engine engine({engine::instrument::btc_usd()});
  bus::spsc_queue<bus::engine_request> input(16);
  bus::spsc_queue<bus::engine_batch*> output(4);
  engine_stage stage(engine, {&input}, output, [] {}, {.batch_pool = 2});
  bus::engine_request halt;
  halt.kind = bus::request_kind::halt;
  bus::engine_request resume;
  resume.kind = bus::request_kind::resume;
  for (const bus::engine_request& r :
       {limit_buy("before-1"), limit_buy("before-2"), halt, limit_buy("after-1"),
        limit_buy("after-2"), resume, limit_buy("resumed")}) {
    ASSERT_TRUE(input.try_push(r));
  }
  stage.start();
  stage.notify();

  std::vector<bus::command_outcome> outcomes;
  while (outcomes.size() < 7) {
    bus::engine_batch* batch = next_batch(output, 5s);
    ASSERT_NE(batch, nullptr);
    outcomes.insert(outcomes.end(), batch->commands.begin(), batch->commands.end());
    batch->clear();
    ASSERT_TRUE(stage.recycle_queue().try_push(batch));
    stage.batch_returned();
  }
  stage.stop();
  using engine::errc;
  const std::vector<errc> expected = {
      errc::ok, errc::ok, errc::ok, errc::instrument_halted, errc::instrument_halted,
      errc::ok, errc::ok};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(outcomes[i].error, expected[i]) << "command " << i;
  }
  EXPECT_EQ(outcomes[2].kind, bus::request_kind::halt);
  EXPECT_EQ(outcomes[2].sequence, outcomes[1].sequence + 1);
  EXPECT_EQ(outcomes[5].sequence, outcomes[2].sequence + 1);
  EXPECT_GT(outcomes[6].sequence, outcomes[5].sequence);
}

// A mass cancel goes through the stage as one command among the others: in order, with
// its client and the cancelled states as its events.
TEST(engine_stage, a_mass_cancel_is_one_command_with_the_cancelled_states) {
  engine::matching_engine engine({engine::instrument::btc_usd()});
  bus::spsc_queue<bus::engine_request> input(16);
  bus::spsc_queue<bus::engine_batch*> output(4);
  engine_stage stage(engine, {&input}, output, [] {}, {.batch_pool = 2});
  stage.start();

  bus::engine_request all;
  all.kind = bus::request_kind::cancel_all;
  all.cancel_all.client = engine::client_id::from("c");
  ASSERT_TRUE(input.try_push(limit_buy("a")));
  ASSERT_TRUE(input.try_push(limit_buy("b")));
  ASSERT_TRUE(input.try_push(all));
  ASSERT_TRUE(input.try_push(limit_buy("c")));
  ASSERT_TRUE(input.try_push(all));
  stage.notify();

  std::vector<bus::command_outcome> outcomes;
  std::vector<std::vector<std::string>> cancelled;
  while (outcomes.size() < 5) {
    bus::engine_batch* batch = next_batch(output, 5s);
    ASSERT_NE(batch, nullptr) << "only " << outcomes.size() << " outcomes came";
    for (const bus::command_outcome& c : batch->commands) {
      outcomes.push_back(c);
      std::vector<std::string> ids;
      for (std::uint32_t i = c.first_event; i < c.end_event; ++i) {
        if (const auto* o = std::get_if<engine::order>(&batch->events[i])) {
          if (o->status == engine::order_status::cancelled) ids.emplace_back(o->id.view());
        }
      }
      cancelled.push_back(ids);
    }
    batch->clear();
    ASSERT_TRUE(stage.recycle_queue().try_push(batch));
    stage.notify();
  }
  stage.stop();
  EXPECT_EQ(outcomes[2].kind, bus::request_kind::cancel_all);
  EXPECT_EQ(outcomes[2].client.view(), "c");
  EXPECT_EQ(outcomes[2].error, engine::errc::ok);
  EXPECT_EQ(cancelled[2], (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(cancelled[4], (std::vector<std::string>{"c"}));
  EXPECT_EQ(engine.book(0).order_count(), 0u);
}

}  // namespace
}  // namespace matchd::sequencer
