// The store stage against a real PostgreSQL: how it paces its commits.

#include <gtest/gtest.h>
#include <matchd/bus/messages.h>
#include <matchd/bus/spsc_queue.h>
#include <matchd/engine/event.h>
#include <matchd/engine/instrument.h>
#include <matchd/obs/metrics.h>
#include <matchd/store/migrations.h>
#include <matchd/store/store_stage.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "pg_server.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;

const std::vector<engine::instrument> kInstruments = {engine::instrument::btc_usd()};

// One placement that rests: a command with sequence `sequence` and its order event.
std::unique_ptr<bus::engine_batch> placement(engine::sequence_number sequence) {
  engine::order o;
  o.id = engine::order_id::from("o-" + std::to_string(sequence));
  o.client = engine::client_id::from("c-1");
  o.price = engine::price_ticks(7'000'000);
  o.quantity = engine::quantity_lots(100'000);
  o.created_sequence = sequence;
  o.sequence = sequence;
  auto batch = std::make_unique<bus::engine_batch>();
  bus::command_outcome c;
  c.sequence = sequence;
  c.subject = o.id;
  c.client = o.client;
  c.first_event = 0;
  c.end_event = 1;
  batch->commands.push_back(c);
  batch->events.emplace_back(o);
  return batch;
}

// "name_count N" from the exposition text.
double sample(const std::string& exposition, const std::string& name) {
  const auto at = exposition.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(exposition.substr(at + name.size() + 2));
}

// Batches arrive every 2 ms, far more often than the 40 ms interval: commits must start at
// least 40 ms apart, so over the run there can be at most elapsed / 40 ms + 1 of them.
// Without the pacing each batch would get a commit of its own (about 50).
TEST(store_stage, starts_commits_no_more_often_than_the_minimum_interval) {
  pg_server pg;
  pg.start();
  store::apply_migrations(pg.connection_string());

  constexpr std::size_t kBatches = 50;
  constexpr auto kInterval = 40ms;
  bus::spsc_queue<bus::engine_batch*> input(kBatches);
  bus::spsc_queue<bus::engine_batch*> output(kBatches);
  auto metrics = obs::make_registry();
  store::store_options options;
  options.conninfo = pg.connection_string();
  options.min_commit_interval = kInterval;
  store::store_stage store(
      options, kInstruments, input, output, [] {}, *metrics);
  store.set_recovered(0, 0);
  store.start();

  std::vector<std::unique_ptr<bus::engine_batch>> batches;
  const auto started = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < kBatches; ++i) {
    batches.push_back(placement(i + 1));
    ASSERT_TRUE(input.try_push(batches.back().get()));
    store.notify();
    std::this_thread::sleep_for(2ms);
  }
  // Every batch comes out, once and in order, after its commit.
  std::size_t received = 0;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (received < kBatches && std::chrono::steady_clock::now() < deadline) {
    if (bus::engine_batch** b = output.front()) {
      EXPECT_EQ((*b)->commands.front().sequence, received + 1);
      output.pop();
      ++received;
    } else {
      std::this_thread::sleep_for(1ms);
    }
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;
  store.stop();
  ASSERT_EQ(received, kBatches);

  const double commits = sample(obs::serialize(*metrics), "store_batch_commands_count");
  const double most = static_cast<double>(elapsed / kInterval) + 1;
  EXPECT_GE(commits, 2) << "the 100 ms of arrivals span more than one interval";
  EXPECT_LE(commits, most) << "commits started less than " << kInterval.count() << " ms apart; "
                           << std::chrono::duration<double>(elapsed).count() << " s elapsed";
  EXPECT_EQ(sample(obs::serialize(*metrics), "store_batch_commands_sum"),
            static_cast<double>(kBatches));
}

}  // namespace
}  // namespace matchd::pgtest
