#include <matchd/obs/logger.h>
#include <matchd/obs/thread_name.h>
#include <matchd/sequencer/engine_stage.h>

#include <algorithm>
#include <optional>
#include <span>

namespace matchd::sequencer {

engine_stage::engine_stage(engine::matching_engine& engine,
                           std::vector<bus::spsc_queue<bus::engine_request>*> inputs,
                           bus::spsc_queue<bus::engine_batch*>& output,
                           std::function<void()> wake_output, engine_stage_options options)
    : engine_(engine),
      inputs_(std::move(inputs)),
      output_(output),
      wake_output_(std::move(wake_output)),
      options_(options),
      recycle_(options.batch_pool),
      idempotency_(options.retention_us) {
  options_.engine_chunk = std::max<std::size_t>(1, options_.engine_chunk);
  chunk_.reserve(options_.engine_chunk);
  taken_.resize(inputs_.size());
  plan_.reserve(options_.engine_chunk);
  refs_.reserve(options_.engine_chunk);
  results_.resize(options_.engine_chunk);
  batches_.reserve(options_.batch_pool);
  for (std::size_t i = 0; i < options_.batch_pool; ++i) {
    auto b = std::make_unique<bus::engine_batch>();
    b->commands.reserve(options_.max_commands_per_batch);
    b->events.reserve(options_.max_commands_per_batch * 8);
    if (retaining()) {
      b->expired_orders.reserve(2 * options_.max_commands_per_batch + kExpiryBudget);
      b->expired_responses.reserve(2 * options_.max_commands_per_batch + kExpiryBudget);
    }
    free_.push_back(b.get());
    batches_.push_back(std::move(b));
  }
}

engine_stage::~engine_stage() {
  stop();
}

void engine_stage::start() {
  thread_ = std::thread([this] {
    obs::name_this_thread("matchd-engine");
    run();
  });
}

void engine_stage::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true, std::memory_order_release);
  waiter_.notify();
  thread_.join();
}

void engine_stage::restore_idempotency(const engine::client_id& client,
                                       const bus::idempotency_key& key, std::uint64_t fingerprint,
                                       engine::sequence_number sequence, engine::timestamp_us at) {
  idempotency_.restore(client, key, fingerprint, sequence, at);
}

bool engine_stage::expire(bus::engine_batch& batch) {
  const engine::timestamp_us now = options_.wall_clock();
  const std::size_t budget = 2 * batch.commands.size() + kExpiryBudget;
  const std::size_t ids = engine_.expire_finished(
      now, budget, [&](const engine::order_id& id) { batch.expired_orders.push_back(id); });
  const std::size_t keys = idempotency_.expire(
      now, budget, [&](engine::sequence_number s) { batch.expired_responses.push_back(s); });
  return ids == budget || keys == budget;
}

bool engine_stage::inputs_pending() const {
  for (const auto* q : inputs_) {
    if (!q->empty()) return true;
  }
  return false;
}

void engine_stage::run() {
  auto log = obs::logger("engine");
  log->info("engine stage started inputs={} batch_pool={} retention_s={}", inputs_.size(),
            batches_.size(), static_cast<double>(options_.retention_us) / 1e6);
  const bool periodic = options_.snapshot_interval.count() > 0;
  auto next_snapshot = std::chrono::steady_clock::now() + options_.snapshot_interval;
  auto snapshot_due = [&] { return periodic && std::chrono::steady_clock::now() >= next_snapshot; };
  // With a retention horizon, an idle engine still forgets what falls due, a few times per
  // horizon (at most every second), so memory and GET /orders/{id} follow the horizon
  // without traffic. Under load every pass forgets what is due.
  const auto expiry_tick = std::clamp<std::chrono::steady_clock::duration>(
      std::chrono::microseconds(options_.retention_us / 4), std::chrono::milliseconds(10),
      std::chrono::seconds(1));
  auto next_expiry = std::chrono::steady_clock::now() + expiry_tick;
  const bool ticking = options_.clock_tick.count() > 0;
  auto next_clock_tick = std::chrono::steady_clock::now() + options_.clock_tick;
  while (true) {
    // Read once per pass, not in ready(): the waiter spins on ready() before it sleeps, and
    // a clock read per spin was a sixth of this thread's time under load. Until the
    // snapshot is due, wait_until's deadline is what ends the wait for it.
    const bool snapshot_now = snapshot_due();
    auto ready = [&] {
      const bool have_batch = !free_.empty() || !recycle_.empty();
      return (have_batch && (snapshot_now || inputs_pending())) ||
             stopping_.load(std::memory_order_acquire);
    };
    const bool starved = free_.empty();
    if (starved) {
      starved_.store(true, std::memory_order_relaxed);
      bus::detail::full_fence();  // before ready() reads recycle_; see batch_returned()
    }
    std::optional<std::chrono::steady_clock::time_point> deadline;
    const auto no_later_than = [&deadline](std::chrono::steady_clock::time_point t) {
      deadline = deadline ? std::min(*deadline, t) : t;
    };
    if (!snapshot_now) {
      if (retaining()) no_later_than(next_expiry);
      if (periodic) no_later_than(next_snapshot);
      if (ticking) no_later_than(next_clock_tick);
    }
    if (deadline) {
      (void)waiter_.wait_until(ready, *deadline);
    } else {
      waiter_.wait(ready);
    }
    if (starved) starved_.store(false, std::memory_order_relaxed);
    while (bus::engine_batch** b = recycle_.front()) {
      free_.push_back(*b);
      recycle_.pop();
    }
    if (free_.empty()) {
      // Every batch is downstream (or the snapshot's deadline passed meanwhile): wait for
      // one to come back. Only a stop with nothing left to run ends the loop here.
      if (stopping_.load(std::memory_order_acquire) && !inputs_pending()) break;
      continue;
    }
    const bool take_snapshots = snapshot_due();
    const auto now = std::chrono::steady_clock::now();
    const bool expiry_due = retaining() && now >= next_expiry;
    const bool clock_due = ticking && now >= next_clock_tick;
    if (!inputs_pending() && !take_snapshots && !expiry_due && !clock_due) {
      if (stopping_.load(std::memory_order_acquire)) break;
      continue;
    }

    bus::engine_batch* batch = free_.back();
    free_.pop_back();
    if (take_snapshots) {
      next_snapshot = std::chrono::steady_clock::now() + options_.snapshot_interval;
      for (engine::instrument_id i = 0; i < engine_.instruments().size(); ++i) {
        snapshot(i, bus::reply_to{}, *batch);
      }
    }
    while (batch->commands.size() < options_.max_commands_per_batch) {
      gather(std::min(options_.engine_chunk,
                      options_.max_commands_per_batch - batch->commands.size()));
      if (chunk_.empty()) break;
      for (std::size_t next = 0; next < chunk_.size();) next = run_segment(next, *batch);
      pop_gathered();
    }
    if (retaining()) {
      // After the commands: a replay in this batch was decided while its key was held, and
      // the publish stage drops the forgotten responses after answering the commands.
      // More is due than a pass forgets: the next pass goes on at once (an idle engine
      // works through a backlog in slices, between commands), else at the next tick.
      const bool more_due = expire(*batch);
      next_expiry = std::chrono::steady_clock::now() +
                    (more_due ? std::chrono::steady_clock::duration::zero() : expiry_tick);
      if (batch->commands.empty() && batch->expired_orders.empty() &&
          batch->expired_responses.empty() && !clock_due) {
        free_.push_back(batch);  // an idle tick with nothing due
        continue;
      }
    }
    if (ticking) {
      // Idle for a tick: time moved on with nothing happening, which is news too.
      if (batch->commands.empty()) engine_.advance_clock(options_.wall_clock());
      next_clock_tick = now + options_.clock_tick;  // the pass's start: no second clock read
    }
    batch->clock = engine_.clock();
    // The output queue is as large as the batch pool, so this never spins for long.
    while (!output_.try_push(batch)) std::this_thread::yield();
    wake_output_();
  }
  log->info("engine stage stopped sequence={} last_trade_id={}", engine_.last_sequence(),
            engine_.last_trade_id());
}

void engine_stage::snapshot(engine::instrument_id ins, bus::reply_to reply,
                            bus::engine_batch& batch) {
  bus::command_outcome c;
  c.kind = bus::request_kind::snapshot;
  c.reply = reply;
  c.instrument = ins;
  c.snapshot_sequence = engine_.last_sequence();
  c.first_event = static_cast<std::uint32_t>(batch.events.size());
  if (ins < engine_.instruments().size()) {
    for (const engine::side s : {engine::side::buy, engine::side::sell}) {
      engine_.book(ins).for_each_level(s, SIZE_MAX, [&](const engine::order_book::level_view& l) {
        batch.events.emplace_back(
            engine::level_delta{ins, s, l.price, l.quantity, l.orders, c.snapshot_sequence});
        return true;
      });
    }
  } else {
    c.error = engine::errc::unknown_instrument;
  }
  c.end_event = static_cast<std::uint32_t>(batch.events.size());
  batch.commands.push_back(c);
}

// An addition, a halt or a resume, alone in its segment: the orders before it ran without
// it, the orders after it run with it.
void engine_stage::venue_command(const bus::engine_request& r, bus::engine_batch& batch) {
  bus::command_outcome c = outcome_of(r);
  c.instrument = r.instrument;
  engine::command_result result;
  if (r.kind == bus::request_kind::add_instrument) {
    c.instrument = static_cast<engine::instrument_id>(engine_.instruments().size());
    result = r.definition ? engine_.add_instrument(*r.definition)
                          : engine::command_result{engine::errc::unknown_instrument, 0};
    if (result.ok()) c.definition = r.definition;
  } else {
    result = engine_.set_halted(r.instrument, r.kind == bus::request_kind::halt);
  }
  c.error = result.error;
  c.sequence = result.sequence;
  c.first_event = c.end_event = static_cast<std::uint32_t>(batch.events.size());
  batch.commands.push_back(c);
  if (result.sequence != 0) {
    const char* what = r.kind == bus::request_kind::halt     ? "halted"
                       : r.kind == bus::request_kind::resume ? "resumed"
                                                             : "added";
    obs::logger("engine")->info("instrument {} {} id={} sequence={}",
                                engine_.instruments()[c.instrument].symbol, what, c.instrument,
                                result.sequence);
  }
}

// Takes up to `limit` requests round-robin over the producers (so none of them starves
// the others), leaving them in their queues until they are done.
void engine_stage::gather(std::size_t limit) {
  chunk_.clear();
  std::fill(taken_.begin(), taken_.end(), 0);
  bool progressed = true;
  while (progressed && chunk_.size() < limit) {
    progressed = false;
    for (std::size_t q = 0; q < inputs_.size() && chunk_.size() < limit; ++q) {
      if (const bus::engine_request* r = inputs_[q]->peek(taken_[q])) {
        chunk_.push_back(r);
        ++taken_[q];
        progressed = true;
      }
    }
  }
}

void engine_stage::pop_gathered() {
  for (std::size_t q = 0; q < inputs_.size(); ++q) {
    for (std::size_t k = 0; k < taken_[q]; ++k) inputs_[q]->pop();
  }
  chunk_.clear();
}

bus::command_outcome engine_stage::outcome_of(const bus::engine_request& r) {
  bus::command_outcome c;
  c.kind = r.kind;
  c.reply = r.reply;
  c.received_ns = r.received_ns;
  c.idempotency = r.idempotency;
  c.fingerprint = r.fingerprint;
  if (r.kind == bus::request_kind::place) {
    c.subject = r.place.id;
    c.client = r.place.client;
    c.client_order_id = r.client_order_id;
  } else if (r.kind == bus::request_kind::amend) {
    c.subject = r.amend.id;
  } else if (r.kind == bus::request_kind::cancel_all) {
    c.client = r.cancel_all.client;
  } else {
    c.subject = r.cancel.id;
  }
  return c;
}

// Runs chunk_[first, end) through the engine in one execute() call and appends their
// outcomes in order; returns `end`. The results must equal running each request on its
// own, so a segment ends before any request that depends on one inside it: a snapshot
// (it reads the books) and a keyed place whose key's first use is still pending (it is a
// replay if that one succeeds, a new command if it fails).
std::size_t engine_stage::run_segment(std::size_t first, bus::engine_batch& batch) {
  if (chunk_[first]->kind == bus::request_kind::snapshot) {
    snapshot(chunk_[first]->instrument, chunk_[first]->reply, batch);
    return first + 1;
  }
  if (bus::is_venue_command(chunk_[first]->kind)) {
    venue_command(*chunk_[first], batch);
    return first + 1;
  }
  plan_.clear();
  refs_.clear();
  std::size_t end = first;
  for (; end < chunk_.size(); ++end) {
    const bus::engine_request& r = *chunk_[end];
    if (r.kind == bus::request_kind::snapshot || bus::is_venue_command(r.kind)) break;
    if (r.kind == bus::request_kind::cancel) {
      plan_.push_back({disposition::engine});
      refs_.push_back({.cancel = &r.cancel});
      continue;
    }
    if (r.kind == bus::request_kind::cancel_all) {
      // Holds no idempotency key: repeating it cancels nothing more.
      plan_.push_back({disposition::engine});
      refs_.push_back({.cancel_all = &r.cancel_all});
      continue;
    }
    if (r.kind == bus::request_kind::amend) {
      plan_.push_back({disposition::engine});
      refs_.push_back({.amend = &r.amend});
      continue;
    }
    if (!r.idempotency.empty()) {
      const bus::idempotency_decision d =
          idempotency_.decide(r.place.client, r.idempotency, r.fingerprint);
      if (d.verdict == bus::idempotency_verdict::pending) break;
      if (d.verdict == bus::idempotency_verdict::replay) {
        plan_.push_back({disposition::replay, d.replay_of});
        continue;
      }
      if (d.verdict == bus::idempotency_verdict::conflict) {
        plan_.push_back({disposition::idempotency_conflict});
        continue;
      }
    }
    plan_.push_back({disposition::engine});
    refs_.push_back({.place = &r.place});
  }

  std::size_t events_end = batch.events.size();
  engine_.execute(refs_, std::span(results_.data(), refs_.size()), batch.events);

  const engine::batch_result* result = results_.data();
  for (std::size_t i = first; i < end; ++i) {
    const bus::engine_request& r = *chunk_[i];
    bus::command_outcome c = outcome_of(r);
    c.first_event = static_cast<std::uint32_t>(events_end);
    const planned& plan = plan_[i - first];
    switch (plan.what) {
      case disposition::replay:
        c.outcome = bus::outcome_kind::replay;
        c.replay_of = plan.replay_of;
        break;
      case disposition::idempotency_conflict:
        c.outcome = bus::outcome_kind::idempotency_conflict;
        break;
      case disposition::engine:
        c.error = result->result.error;
        c.sequence = result->result.sequence;
        events_end = result->events_end;
        ++result;
        if (c.error == engine::errc::order_not_open && r.kind == bus::request_kind::cancel) {
          c.scope = r.cancel.scope;  // for the publish stage to decide on a finished order
        }
        if (c.error == engine::errc::order_not_open && r.kind == bus::request_kind::amend) {
          c.scope = r.amend.scope;
        }
        if (r.kind == bus::request_kind::place && !r.idempotency.empty()) {
          idempotency_.settle(r.place.client, r.idempotency, c.error, c.sequence,
                              r.place.received_at);
        }
        break;
    }
    c.end_event = static_cast<std::uint32_t>(events_end);
    batch.commands.push_back(c);
  }
  return end;
}

}  // namespace matchd::sequencer
