#include <matchd/bus/clock.h>
#include <matchd/codec/timestamp.h>
#include <matchd/obs/logger.h>
#include <matchd/obs/thread_name.h>
#include <matchd/store/settlement_worker.h>
#include <matchd/store/settlements.h>

#include <algorithm>
#include <pqxx/pqxx>

#include "reader_session.h"

namespace matchd::store {

namespace {

constexpr std::int64_t kMinuteUs = 60'000'000;
constexpr std::int64_t kDayUs = 1'440 * kMinuteUs;

}  // namespace

settlement_worker::settlement_worker(settlement_options options,
                                     std::vector<engine::instrument> instruments,
                                     settlement_fence fence)
    : options_(std::move(options)),
      fence_(std::move(fence)),
      instruments_(std::move(instruments)),
      session_(std::make_unique<reader_session>(options_.reader, "settlement")) {}

settlement_worker::~settlement_worker() {
  stop();
}

void settlement_worker::start() {
  thread_ = std::thread([this] {
    obs::name_this_thread("matchd-settle");
    run();
  });
}

void settlement_worker::stop() {
  if (!thread_.joinable()) return;
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void settlement_worker::add_instrument(const engine::instrument& ins) {
  const std::lock_guard lock(mutex_);
  instruments_.push_back(ins);
}

void settlement_worker::enqueue(std::function<void()> work, const done_fn& done) {
  {
    const std::lock_guard lock(mutex_);
    if (!stopping_ && jobs_.size() < options_.reader.queue_capacity) {
      jobs_.push_back(std::move(work));
      wake_.notify_one();
      return;
    }
  }
  done(status::overloaded, "too many settlement requests waiting; retry shortly");
}

void settlement_worker::settle(engine::timestamp_us cutoff, done_fn done) {
  enqueue([this, cutoff, done] { settle_now(cutoff, done); }, done);
}

void settlement_worker::list(std::size_t limit, done_fn done) {
  enqueue(
      [this, limit, done] {
        const auto asked = std::chrono::steady_clock::now();
        if (!session_->may_try(asked)) {
          return done(status::unavailable, "the database is not answering; retry shortly");
        }
        std::string body;
        try {
          pqxx::connection& c = session_->open();
          const auto window = session_->arm(asked + options_.reader.timeout);
          pqxx::read_transaction tx(c);
          body = settlement_list_body(tx, limit);
        } catch (const std::exception& e) {
          session_->fail(e);
          return done(status::unavailable, "the database is not answering; retry shortly");
        }
        done(status::existing, std::move(body));
      },
      done);
}

void settlement_worker::get(std::uint64_t settlement_id, bool csv, engine::client_scope scope,
                            done_fn done) {
  enqueue(
      [this, settlement_id, csv, scope = std::move(scope), done] {
        const auto asked = std::chrono::steady_clock::now();
        if (!session_->may_try(asked)) {
          return done(status::unavailable, "the database is not answering; retry shortly");
        }
        std::optional<std::string> body;
        try {
          pqxx::connection& c = session_->open();
          const auto window = session_->arm(asked + options_.reader.timeout);
          pqxx::read_transaction tx(c);
          std::vector<engine::instrument> instruments;
          {
            const std::lock_guard lock(mutex_);
            instruments = instruments_;
          }
          body = settlement_body(tx, instruments, settlement_id, csv, scope);
        } catch (const std::exception& e) {
          session_->fail(e);
          return done(status::unavailable, "the database is not answering; retry shortly");
        }
        if (!body) {
          return done(status::not_found, "no settlement " + std::to_string(settlement_id));
        }
        done(status::existing, std::move(*body));
      },
      done);
}

bool settlement_worker::wait_for_tables(engine::timestamp_us cutoff,
                                        std::chrono::steady_clock::time_point until) {
  std::optional<engine::sequence_number> needed;
  while (std::chrono::steady_clock::now() < until) {
    if (!needed) needed = fence_.committed_through(cutoff);
    if (needed && fence_.applied() >= *needed) return true;
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, std::chrono::milliseconds(20), [this] { return stopping_; })) {
      return false;
    }
  }
  return false;
}

void settlement_worker::settle_now(engine::timestamp_us cutoff, const done_fn& done) {
  auto log = obs::logger("settlement");
  const auto started = std::chrono::steady_clock::now();
  if (!wait_for_tables(cutoff, started + options_.settle_timeout)) {
    log->warn("settlement cutoff={} refused: the tables do not hold every trade before it yet",
              codec::format_timestamp(cutoff));
    return done(status::unavailable,
                "the database has not caught up with the trades before the cutoff; retry shortly");
  }
  if (!session_->may_try(std::chrono::steady_clock::now())) {
    return done(status::unavailable, "the database is not answering; retry shortly");
  }
  settlement_outcome outcome;
  try {
    pqxx::connection& c = session_->open();
    const auto window = session_->arm(std::chrono::steady_clock::now() + options_.settle_timeout);
    std::vector<engine::instrument> instruments;
    {
      const std::lock_guard lock(mutex_);
      instruments = instruments_;
    }
    pqxx::work tx(c);
    outcome = store::settle(tx, instruments, cutoff, bus::wall_us());
    tx.commit();
  } catch (const std::exception& e) {
    session_->fail(e);
    return done(status::unavailable, "the database is not answering; retry shortly");
  }
  using kind = settlement_outcome::kind;
  if (outcome.what == kind::created) {
    log->info("settlement made cutoff={} seconds={:.3f}", codec::format_timestamp(cutoff),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  done(outcome.what == kind::created    ? status::created
       : outcome.what == kind::existing ? status::existing
                                        : status::out_of_order,
       std::move(outcome.body));
}

engine::timestamp_us settlement_worker::next_daily(engine::timestamp_us now) const {
  const std::int64_t at = now / kDayUs * kDayUs + *options_.daily_minute * kMinuteUs;
  return at > now ? at : at + kDayUs;
}

void settlement_worker::run() {
  auto log = obs::logger("settlement");
  log->info("settlement worker started daily_minute={}",
            options_.daily_minute ? std::to_string(*options_.daily_minute) : "none");
  // The daily run, on this thread's own clock. A cutoff that could not be made (the database
  // away or behind) is tried again every minute until it is, so a day is never skipped.
  std::optional<engine::timestamp_us> due;
  engine::timestamp_us failed = 0;  // a cutoff to try again; 0: none
  engine::timestamp_us retry_at = 0;
  const auto daily = [&](engine::timestamp_us cutoff) {
    bool made = false;
    settle_now(cutoff, [&](status st, const std::string& body) {
      // out_of_order: a later cutoff was made by hand; this one is covered by it.
      made = st == status::created || st == status::existing || st == status::out_of_order;
      if (!made) {
        log->warn("daily settlement cutoff={} not made, retrying in a minute: {}",
                  codec::format_timestamp(cutoff), body);
      }
    });
    if (made) {
      if (failed == cutoff) failed = 0;
    } else {
      failed = cutoff;
      retry_at = bus::wall_us() + kMinuteUs;
    }
  };
  if (options_.daily_minute) {
    due = next_daily(bus::wall_us());
    // The daily cutoff that passed last, in case the daemon was down then (the same cutoff
    // again is the settlement already made).
    daily(*due - kDayUs);
  }
  while (true) {
    std::function<void()> work;
    {
      std::unique_lock lock(mutex_);
      const auto ready = [this] { return stopping_ || !jobs_.empty(); };
      if (due) {
        engine::timestamp_us next = *due;
        if (failed != 0) next = std::min(next, retry_at);
        const auto wait =
            std::chrono::microseconds(std::max<std::int64_t>(next - bus::wall_us(), 0));
        wake_.wait_for(lock, std::min<std::chrono::microseconds>(wait, std::chrono::seconds(1)),
                       ready);
      } else {
        wake_.wait(lock, ready);
      }
      if (stopping_ && jobs_.empty()) break;
      if (!jobs_.empty()) {
        work = std::move(jobs_.front());
        jobs_.pop_front();
      }
    }
    if (work) {
      work();
      continue;
    }
    const engine::timestamp_us now = bus::wall_us();
    if (failed != 0 && now >= retry_at) daily(failed);
    if (due && now >= *due) {
      const engine::timestamp_us cutoff = *due;
      due = next_daily(cutoff);
      daily(cutoff);
    }
  }
  session_->close();
  log->info("settlement worker stopped");
}

}  // namespace matchd::store
