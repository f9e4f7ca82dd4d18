#include <matchd/bus/clock.h>
#include <matchd/codec/analytics_json.h>
#include <matchd/codec/json_writer.h>
#include <matchd/codec/wire.h>
#include <matchd/obs/logger.h>
#include <matchd/obs/metrics.h>
#include <matchd/obs/thread_name.h>
#include <matchd/store/analytics_reader.h>
#include <matchd/store/market_history.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include <pqxx/pqxx>

#include "candle_cache.h"
#include "pnl_history.h"
#include "reader_session.h"

namespace matchd::store {

namespace {

// A read of an instrument this reader has not been told of yet.
struct instrument_being_added {};

}  // namespace

analytics_reader::analytics_reader(reader_options options,
                                   std::vector<engine::instrument> instruments,
                                   prometheus::Registry& metrics)
    : options_(std::move(options)),
      instruments_(std::make_shared<const instrument_list>(std::move(instruments))),
      session_(std::make_unique<reader_session>(options_, "analytics")),
      candles_(std::make_unique<candle_cache>(options_.candle_cache_bytes)) {
  auto& seconds = prometheus::BuildHistogram()
                      .Name("analytics_read_seconds")
                      .Help("Analytics reads from when asked to the body written, by route")
                      .Register(metrics);
  auto& reads = prometheus::BuildCounter()
                    .Name("analytics_reads_total")
                    .Help("Analytics reads by route and outcome (ok, overloaded, unavailable)")
                    .Register(metrics);
  const std::array<std::string, kRoutes> names{"candles", "stats", "trades", "pnl"};
  for (std::size_t r = 0; r < kRoutes; ++r) {
    const std::string& name = names[r];
    metrics_[r].seconds = &seconds.Add({{"route", name}}, obs::latency_buckets());
    metrics_[r].ok = &reads.Add({{"route", name}, {"outcome", "ok"}});
    metrics_[r].overloaded = &reads.Add({{"route", name}, {"outcome", "overloaded"}});
    metrics_[r].unavailable = &reads.Add({{"route", name}, {"outcome", "unavailable"}});
  }
}

analytics_reader::~analytics_reader() {
  stop();
}

void analytics_reader::start() {
  thread_ = std::thread([this] {
    obs::name_this_thread("matchd-analytics");
    run();
  });
}

void analytics_reader::stop() {
  if (!thread_.joinable()) return;
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void analytics_reader::read(const analytics::candle_query& q, done_fn done) {
  submit(
      route::candles, q.instrument,
      [this, q](pqxx::transaction_base& tx, const engine::instrument& ins) {
        return candles_->body(tx, ins, q, bus::wall_us());
      },
      std::move(done));
}

void analytics_reader::read(const analytics::stats_query& q, done_fn done) {
  submit(
      route::stats, q.instrument,
      [this, q](pqxx::transaction_base& tx, const engine::instrument& ins) {
        return codec::stats_body(ins, q.start, q.end,
                                 candles_->summary(tx, ins, q.instrument, q.start, q.end));
      },
      std::move(done));
}

void analytics_reader::read(const analytics::trade_query& q, done_fn done) {
  submit(
      route::trades, q.instrument,
      [q](pqxx::transaction_base& tx, const engine::instrument& ins) {
        std::string body;
        codec::json_writer w(body);
        w.begin_object();
        w.key("trades");
        w.begin_array();
        for (const engine::trade& t : read_trades(tx, ins.symbol, q))
          codec::append_trade(w, t, ins);
        w.end_array();
        w.end_object();
        return body;
      },
      std::move(done));
}

void analytics_reader::read(const analytics::pnl_query& q, done_fn done) {
  submit(
      route::pnl,
      [q](pqxx::transaction_base& tx, const instrument_list& instruments) {
        return pnl_body(tx, instruments, q, bus::wall_us());
      },
      std::move(done));
}

void analytics_reader::submit(route what, engine::instrument_id instrument, instrument_read_fn fn,
                              done_fn done) {
  submit(
      what,
      [instrument, fn = std::move(fn)](pqxx::transaction_base& tx,
                                       const instrument_list& instruments) {
        // Added a moment ago and not yet told here: it has no trades to read yet.
        if (instrument >= instruments.size()) throw instrument_being_added();
        return fn(tx, instruments[instrument]);
      },
      std::move(done));
}

void analytics_reader::submit(route what, read_fn fn, done_fn done) {
  job j{what, std::move(fn), std::move(done), std::chrono::steady_clock::now()};
  {
    const std::lock_guard lock(mutex_);
    if (jobs_.size() < options_.queue_capacity && !stopping_) {
      jobs_.push_back(std::move(j));
      wake_.notify_one();
      return;
    }
  }
  finish(j, status::overloaded, "too many analytics reads waiting; retry shortly");
}

void analytics_reader::finish(job& j, status st, std::string text) {
  route_metrics& m = metrics_[static_cast<std::size_t>(j.what)];
  switch (st) {
    case status::ok:
      m.ok->Increment();
      m.seconds->Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - j.asked).count());
      break;
    case status::overloaded:
      m.overloaded->Increment();
      break;
    case status::unavailable:
      m.unavailable->Increment();
      break;
  }
  j.done(st, std::move(text));
}

void analytics_reader::add_instrument(const engine::instrument& ins) {
  const std::lock_guard lock(mutex_);
  auto more = std::make_shared<instrument_list>(*instruments_);
  more->push_back(ins);
  instruments_ = std::move(more);
}

void analytics_reader::run() {
  auto log = obs::logger("analytics");
  log->info("analytics reader started queue={} timeout_ms={}", options_.queue_capacity,
            options_.timeout.count());
  while (true) {
    job j;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) break;  // stopping, and everything asked was answered
      j = std::move(jobs_.front());
      jobs_.pop_front();
    }
    answer(j);
  }
  session_->close();
  log->info("analytics reader stopped");
}

void analytics_reader::answer(job& j) {
  const auto now = std::chrono::steady_clock::now();
  // Waited its whole deadline in the queue (behind a slow database): a 503 at once rather
  // than a late answer. Likewise while the backoff after a failure runs.
  if (now - j.asked >= options_.timeout || !session_->may_try(now)) {
    return finish(j, status::unavailable, "the database is not answering; retry shortly");
  }
  std::string body;
  try {
    pqxx::connection& c = session_->open();
    const auto window = session_->arm(j.asked + options_.timeout);
    std::shared_ptr<const instrument_list> instruments;
    {
      const std::lock_guard lock(mutex_);
      instruments = instruments_;
    }
    // No transaction: each statement is consistent by itself, and what a read combines from
    // several (the candle cache's final buckets, the newest trade's time, the open part) does
    // not need one snapshot: final buckets never change, and a later statement seeing more
    // applied trades only sees a newer open part. BEGIN and COMMIT would be two more round
    // trips, each a wait for a core on a busy machine.
    pqxx::nontransaction tx(c);
    body = j.fn(tx, *instruments);
  } catch (const instrument_being_added&) {
    return finish(j, status::unavailable, "the instrument is being added; retry shortly");
  } catch (const std::exception& e) {
    session_->fail(e);
    return finish(j, status::unavailable, "the database is not answering; retry shortly");
  }
  finish(j, status::ok, std::move(body));
}

}  // namespace matchd::store
