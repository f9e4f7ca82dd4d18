#pragma once

#include <matchd/bus/clock.h>
#include <matchd/bus/idempotency.h>
#include <matchd/bus/idle_waiter.h>
#include <matchd/bus/messages.h>
#include <matchd/bus/spsc_queue.h>
#include <matchd/engine/matching_engine.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace matchd::sequencer {

struct engine_stage_options {
  std::size_t batch_pool = 64;                // batches in circulation between the stages
  std::size_t max_commands_per_batch = 1024;  // bounds the work one batch carries
  // Commands handed to matching_engine::execute at once: enough for its look-ahead to
  // hide the id-index misses, few enough to keep the producers' queue slots turning over.
  std::size_t engine_chunk = 64;
  // Every this often, a snapshot of every book rides the pipeline (0 = never).
  std::chrono::seconds snapshot_interval{0};
  // The retention horizon of idempotency keys (the engine's own, for finished order ids, is
  // engine_options::retention_us; the daemon sets both to --retention). 0 = for ever.
  engine::timestamp_us retention_us = 0;
  // Idle this long, the engine moves its clock to the wall clock and sends it downstream in
  // an empty batch (bus::engine_batch::clock). 0 = never.
  std::chrono::milliseconds clock_tick{0};
  // The wall clock the horizon and the clock tick are measured on (injectable for tests).
  engine::timestamp_us (*wall_clock)() = bus::wall_us;
};

// The engine thread. Drains one SPSC queue per producer (each I/O thread, the feed),
// decides idempotent retries (bus::idempotency_table), runs every other command through the
// matching engine and hands the results downstream in batches. Nothing else touches the engine.
class engine_stage {
 public:
  engine_stage(engine::matching_engine& engine,
               std::vector<bus::spsc_queue<bus::engine_request>*> inputs,
               bus::spsc_queue<bus::engine_batch*>& output, std::function<void()> wake_output,
               engine_stage_options options = {});
  ~engine_stage();
  engine_stage(const engine_stage&) = delete;
  engine_stage& operator=(const engine_stage&) = delete;

  // The queue the last stage returns processed batches through.
  bus::spsc_queue<bus::engine_batch*>& recycle_queue() { return recycle_; }

  void start();
  // Finishes the queued requests, ships them, and stops. Producers must have stopped.
  void stop();
  void notify() noexcept { waiter_.notify(); }
  // The last stage, after pushing to recycle_queue(). Wakes the engine only while it waits
  // for a batch: with batches to spare it has no use for one, and a wake-up for nothing
  // costs a context switch each time a group is published.
  void batch_returned() noexcept {
    bus::detail::full_fence();  // pairs with the one in run(): Dekker's pattern
    if (starved_.load(std::memory_order_relaxed)) waiter_.notify();
  }

  // Recovery (before start): an idempotency key already answered by command `sequence`.
  void restore_idempotency(const engine::client_id& client, const bus::idempotency_key& key,
                           std::uint64_t fingerprint, engine::sequence_number sequence,
                           engine::timestamp_us at = 0);

  // Forgotten per pass at most, beyond twice the pass's commands: what is due is forgotten
  // about twice as fast as it can be added, and an idle tick clears this many.
  static constexpr std::size_t kExpiryBudget = 256;

 private:
  // What a request of the current chunk turns into.
  enum class disposition : std::uint8_t { engine, replay, idempotency_conflict };
  // What run_segment decided for one request; a replay keeps the sequence it found, so
  // the key is looked up once.
  struct planned {
    disposition what = disposition::engine;
    engine::sequence_number replay_of = 0;
  };
  void run();
  bool inputs_pending() const;
  void gather(std::size_t limit);
  void pop_gathered();
  std::size_t run_segment(std::size_t first, bus::engine_batch& batch);
  static bus::command_outcome outcome_of(const bus::engine_request& r);
  void snapshot(engine::instrument_id ins, bus::reply_to reply, bus::engine_batch& batch);
  void venue_command(const bus::engine_request& r, bus::engine_batch& batch);
  // The retention horizon: forgets what is due into the batch's expired lists. True when
  // the budget ran out with more due.
  bool expire(bus::engine_batch& batch);
  bool retaining() const noexcept { return options_.retention_us > 0; }

  engine::matching_engine& engine_;
  std::vector<bus::spsc_queue<bus::engine_request>*> inputs_;
  bus::spsc_queue<bus::engine_batch*>& output_;
  std::function<void()> wake_output_;
  engine_stage_options options_;
  std::vector<std::unique_ptr<bus::engine_batch>> batches_;
  bus::spsc_queue<bus::engine_batch*> recycle_;
  std::vector<bus::engine_batch*> free_;
  bus::idempotency_table idempotency_;  // the rules: bus/idempotency.h

  // The chunk being worked on: requests still in their queues (popped once done), how
  // many were taken from each queue, and the per-request scratch of run_segment.
  std::vector<const bus::engine_request*> chunk_;
  std::vector<std::size_t> taken_;
  std::vector<planned> plan_;
  std::vector<engine::command_ref> refs_;
  std::vector<engine::batch_result> results_;

  bus::idle_waiter waiter_;
  std::atomic<bool> starved_{false};  // waiting with every batch downstream
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace matchd::sequencer
