#include "daemon.h"

#include <matchd/bus/clock.h>
#include <matchd/obs/logger.h>
#include <matchd/obs/thread_name.h>
#include <matchd/store/connection_errors.h>
#include <matchd/store/export_cursor.h>
#include <matchd/store/migrations.h>
#include <matchd/store/pg_key_store.h>
#include <matchd/store/positions.h>
#include <matchd/store/recovery.h>
#include <matchd/store/session_settings.h>
#include <matchd/store/writer_lock.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <future>
#include <pqxx/except>
#include <string_view>
#include <thread>

namespace matchd::app {

namespace {
constexpr std::size_t kBatchPool = 64;
constexpr std::size_t kQueryQueue = 4096;

// libpq's messages end in a newline and may span lines; one line reads better in a log.
std::string one_line(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\n') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}
}  // namespace

void throw_if_database_rejected(std::string_view connect_error) {
  if (store::classify_connect_error(connect_error) == store::connect_failure::rejected) {
    throw startup_error(kExitDatabaseRejected,
                        "the database refused the connection given by --db (MATCHD_DB): " +
                            one_line(connect_error));
  }
}

daemon::daemon(config cfg) : cfg_(std::move(cfg)), registry_(obs::make_registry()) {
  order_flow_ = std::make_unique<obs::order_flow_metrics>(*registry_);
  engine::engine_options engine_opts;
  engine_opts.expected_orders_per_book = cfg_.expected_orders;
  engine_opts.retention_us = cfg_.retention_us;
  engine_opts.fees = cfg_.fees;
  engine_ = std::make_unique<engine::matching_engine>(cfg_.instruments, engine_opts);

  const std::size_t budget = cfg_.server.inflight_budget;
  publish::publish_options publish_opts;
  // Every admitted command's answer must fit next to the stream frames in flight.
  publish_opts.delivery_reserve = budget + 1024;
  const std::size_t delivery_capacity = budget + 1024 + 65536;

  std::vector<bus::spsc_queue<bus::engine_request>*> engine_inputs;
  std::vector<gateway::io_thread_links> gateway_links;
  for (std::size_t i = 0; i < cfg_.server.io_threads; ++i) {
    io_queues q;
    q.to_engine = std::make_unique<bus::spsc_queue<bus::engine_request>>(budget);
    q.to_publish = std::make_unique<bus::spsc_queue<bus::read_query>>(kQueryQueue);
    q.deliveries = std::make_unique<bus::spsc_queue<bus::io_delivery>>(delivery_capacity);
    engine_inputs.push_back(q.to_engine.get());
    gateway_links.push_back({q.to_engine.get(), q.to_publish.get(), q.deliveries.get()});
    io_queues_.push_back(std::move(q));
  }

  if (cfg_.feed) {
    feed_queue_ = std::make_unique<bus::spsc_queue<bus::engine_request>>(8192);
    engine_inputs.push_back(feed_queue_.get());
  }
  const bool durable = !cfg_.db.empty();
  executed_ = std::make_unique<bus::spsc_queue<bus::engine_batch*>>(kBatchPool);
  if (durable) committed_ = std::make_unique<bus::spsc_queue<bus::engine_batch*>>(kBatchPool);
  sequencer::engine_stage_options stage_opts;
  stage_opts.batch_pool = kBatchPool;
  stage_opts.retention_us = cfg_.retention_us;
  if (durable) stage_opts.snapshot_interval = std::chrono::seconds(cfg_.snapshot_interval_s);
  stage_opts.clock_tick = std::chrono::milliseconds(100);  // candles close within it
  engine_stage_ = std::make_unique<sequencer::engine_stage>(
      *engine_, engine_inputs, *executed_,
      [this] {
        if (store_stage_) {
          store_stage_->notify();
        } else {
          publish_stage_->notify();
        }
      },
      stage_opts);
  if (durable) {
    db_conninfo_ = store::with_session_settings(cfg_.db, cfg_.db_timeout);
    store::store_options store_opts;
    store_opts.conninfo = db_conninfo_;
    store_opts.journal_max_lag = cfg_.journal_max_lag;
    store_opts.db_timeout = cfg_.db_timeout;
    store_opts.on_lock_lost = [this] { writer_lock_lost(); };
    store_opts.journal_book_levels = !cfg_.nats_url.empty();
    store_stage_ = std::make_unique<store::store_stage>(
        store_opts, cfg_.instruments, *executed_, *committed_, [this] { publish_stage_->notify(); },
        *registry_);
  }

  std::vector<publish::io_link> publish_links;
  for (std::size_t i = 0; i < io_queues_.size(); ++i) {
    publish_links.push_back({io_queues_[i].to_publish.get(), io_queues_[i].deliveries.get(),
                             [this, i] { server_->wake(static_cast<std::uint32_t>(i)); }});
  }
  publish_stage_ = std::make_unique<publish::publish_stage>(
      cfg_.instruments, std::move(publish_links), durable ? *committed_ : *executed_,
      engine_stage_->recycle_queue(), [this] { engine_stage_->batch_returned(); }, *registry_,
      *order_flow_, publish_opts);
  // The order view keeps the open orders and the finished ones within the retention
  // horizon, like the engine's id index: both are sized for --expected-orders per book up
  // front (recovery may size them further).
  if (durable) {
    store::history_options history_opts;
    history_opts.conninfo = db_conninfo_;
    history_opts.timeout = cfg_.db_timeout;
    history_reader_ = std::make_unique<store::history_reader>(history_opts, cfg_.instruments,
                                                              [this] { publish_stage_->notify(); });
    publish_stage_->attach_history({&history_reader_->requests(), &history_reader_->answers(),
                                    [this] { history_reader_->notify(); }});
    store::reader_options analytics_opts;
    analytics_opts.conninfo = db_conninfo_;
    analytics_opts.timeout = cfg_.db_timeout;
    analytics_opts.queue_capacity = 256;
    analytics_reader_ =
        std::make_unique<store::analytics_reader>(analytics_opts, cfg_.instruments, *registry_);
    store::settlement_options settlement_opts;
    settlement_opts.reader.conninfo = db_conninfo_;
    settlement_opts.reader.timeout = cfg_.db_timeout;
    settlement_opts.reader.queue_capacity = 64;
    settlement_opts.daily_minute = cfg_.settlement_minute;
    settlement_worker_ = std::make_unique<store::settlement_worker>(
        settlement_opts, cfg_.instruments,
        store::settlement_fence{
            [this](engine::timestamp_us t) { return store_stage_->committed_through(t); },
            [this] { return store_stage_->applied_sequence(); }});
  }
  if (durable && !cfg_.nats_url.empty()) {
    event_export::jetstream_options export_opts;
    export_opts.url = cfg_.nats_url;
    export_opts.stream = cfg_.nats_stream;
    export_opts.subjects_per_instrument = cfg_.nats_subjects_per_instrument;
    export_opts.conninfo = db_conninfo_;
    export_opts.db_timeout = cfg_.db_timeout;
    exporter_ = std::make_unique<event_export::jetstream_exporter>(export_opts, cfg_.instruments,
                                                                   *registry_);
  }
  if (durable) {
    event_export::webhook_options hook_opts;
    hook_opts.conninfo = db_conninfo_;
    hook_opts.db_timeout = cfg_.db_timeout;
    hook_opts.retry_horizon = cfg_.webhook_retry_horizon;
    hook_opts.allow_private = cfg_.webhook_destinations.allow_private;
    // Retries spread over the horizon: 1 s doubling to 1 h for the default day; a short
    // horizon (tests) retries sooner.
    hook_opts.initial_backoff =
        std::min(std::chrono::milliseconds(1000),
                 std::max(std::chrono::milliseconds(50), cfg_.webhook_retry_horizon / 20));
    hook_opts.max_backoff = std::min<std::chrono::milliseconds>(
        std::chrono::hours(1), std::max(hook_opts.initial_backoff, cfg_.webhook_retry_horizon / 4));
    webhooks_ =
        std::make_unique<event_export::webhook_service>(hook_opts, cfg_.instruments, *registry_);
  }
  // An instrument added at runtime reaches the readers and the I/O threads before its 201
  // does.
  publish_stage_->on_instrument_added([this](const engine::instrument& ins) {
    if (history_reader_) history_reader_->add_instrument(ins);
    if (analytics_reader_) analytics_reader_->add_instrument(ins);
    if (settlement_worker_) settlement_worker_->add_instrument(ins);
    if (exporter_) exporter_->add_instrument(ins);
    if (webhooks_) webhooks_->add_instrument(ins);
    server_->add_instrument(ins);
  });
  publish_stage_->reserve_orders(cfg_.expected_orders *
                                 std::max<std::size_t>(1, cfg_.instruments.size()));

  gateway::pipeline_hooks hooks;
  hooks.notify_engine = [this] { engine_stage_->notify(); };
  hooks.notify_publish = [this] { publish_stage_->notify(); };
  hooks.not_ready_reason = [this]() -> std::string {
    if (!recovered_.load(std::memory_order_relaxed)) {
      return waiting_for_database_.load(std::memory_order_relaxed) ? "database unavailable"
                                                                   : "recovering";
    }
    // Also once the writer lock is lost (the daemon is stopping then).
    if (store_stage_ && !store_stage_->database_up()) return "database unavailable";
    return {};
  };
  hooks.before_scrape = [this] { sample_queue_depths(); };
  queue_depth_ = &prometheus::BuildGauge()
                      .Name("queue_depth")
                      .Help("Items waiting in the queues between the stages")
                      .Register(*registry_);
  server_ =
      std::make_unique<gateway::server>(cfg_.server, cfg_.instruments, std::move(gateway_links),
                                        std::move(hooks), *registry_, *order_flow_);

  auth::registry_options key_opts;
  key_opts.default_rate = cfg_.server.rate_limit_per_client;
  key_opts.default_burst = cfg_.server.rate_burst_per_client;
  key_opts.bootstrap_secret = cfg_.admin_key;
  // With --db the keys are in PostgreSQL (loaded once the migrations ran, in start()).
  keys_ = std::make_unique<auth::key_registry>(
      key_opts, durable ? std::unique_ptr<auth::key_store>(
                              std::make_unique<store::pg_key_store>(db_conninfo_, cfg_.db_timeout))
                        : auth::make_memory_key_store());
  server_->use_keys(*keys_);
  if (analytics_reader_) server_->use_history(*analytics_reader_);
  if (settlement_worker_) server_->use_settlements(*settlement_worker_);
  if (webhooks_) server_->use_webhooks(*webhooks_, cfg_.webhook_destinations);
  auto log = obs::logger("app");
  if (cfg_.server.auth_keys) {
    log->info(
        "auth: API keys required (--auth keys); bootstrap admin key from MATCHD_ADMIN_KEY: {}",
        cfg_.admin_key ? "yes" : "no");
  } else {
    log->info("auth: none (--auth none): API keys are ignored, anyone who can connect may trade");
  }
}

daemon::~daemon() {
  stop();
}

boost::asio::ip::tcp::endpoint daemon::start() {
  const bool durable = store_stage_ != nullptr;
  server_->set_accepting(!durable);
  try {
    server_->start();
  } catch (const boost::system::system_error& e) {
    const std::string& host = cfg_.server.host;
    const std::string address = (host.find(':') != std::string::npos ? "[" + host + "]" : host) +
                                ":" + std::to_string(cfg_.server.port);
    throw startup_error(kExitCannotListen,
                        "cannot listen on " + address + ": " + e.code().message() +
                            "; choose another address with --listen HOST:PORT or MATCHD_LISTEN");
  }
  started_ = true;
  if (durable) recover();
  keys_->start();
  if (history_reader_) history_reader_->start();
  if (analytics_reader_) analytics_reader_->start();
  if (settlement_worker_) settlement_worker_->start();
  if (exporter_) exporter_->start();
  if (webhooks_) webhooks_->start();
  publish_stage_->start();
  if (store_stage_) store_stage_->start();
  engine_stage_->start();
  recovered_.store(true);
  server_->set_accepting(true);
  if (cfg_.feed) {
    // Feed orders have no reply: they take no in-flight slot; a full queue drops and counts.
    feed_ioc_ = std::make_unique<boost::asio::io_context>(1);
    feed_ = std::make_unique<feed::feed_client>(
        *feed_ioc_, *cfg_.feed, cfg_.instruments,
        [this](bus::engine_request&& r) {
          if (!feed_queue_->try_push(std::move(r))) return false;
          engine_stage_->notify();
          return true;
        },
        *registry_);
    feed_->start();
    feed_thread_ = std::thread([this] {
      obs::name_this_thread("matchd-feed");
      feed_ioc_->run();
    });
    obs::logger("app")->info("feed started url={}", cfg_.feed->url);
  }
  return server_->local_endpoint();
}

namespace {

// Routes what recovery reads to the stages that keep it.
class daemon_recovery_sink final : public store::recovery_sink {
 public:
  daemon_recovery_sink(engine::matching_engine& engine, sequencer::engine_stage& stage,
                       publish::publish_stage& publish)
      : engine_(engine), stage_(stage), publish_(publish) {}

  // Recovery delivers the open orders and those finished within the retention horizon, so
  // both tables are sized once here instead of growing through several rehashes.
  void expected_orders(std::size_t orders) override {
    engine_.reserve_ids(orders);
    publish_.reserve_orders(orders);
  }

  // The read views learn the resting orders later, from the rebuilt books
  // (seed_resting_views), while another thread checks the invariants.
  void resting_order(const engine::order& o) override {
    if (const auto e = engine_.restore_resting(o); e != engine::errc::ok) {
      throw std::runtime_error("cannot restore order " + std::string(o.id.view()) + ": " +
                               std::string(engine::to_code(e)));
    }
  }
  void finished_order(const engine::order& o) override {
    engine_.restore_finished_id(o.id.view(), o.updated_at);
    publish_.seed_order(o);
  }
  void idempotency_key(const engine::client_id& client, std::string_view key,
                       std::uint64_t fingerprint, engine::sequence_number sequence,
                       engine::timestamp_us created_at, std::string response) override {
    stage_.restore_idempotency(client, bus::idempotency_key::from(key), fingerprint, sequence,
                               created_at);
    publish_.seed_response(sequence, std::move(response));
  }
  // Kept until the read views hold every order (seed_labels): the resting ones reach them
  // only after recovery, from the rebuilt books.
  void order_label(const engine::order_id& id, std::string_view label) override {
    labels_.emplace_back(id, engine::order_label::from(label));
  }
  void seed_labels() {
    for (const auto& [id, label] : labels_) publish_.seed_label(id, label);
    labels_.clear();
    labels_.shrink_to_fit();
  }
  // Trades come oldest first: the last one is the instrument's reference price. Nothing
  // after the restart is stamped before them, whatever this host's clock says.
  void recent_trade(const engine::trade& t) override {
    engine_.restore_last_trade(t.instrument, t.price);
    engine_.advance_clock(t.executed_at);
    publish_.seed_trade(t);
  }
  void live_candle(engine::instrument_id instrument, analytics::interval iv,
                   const analytics::candle& c, engine::timestamp_us now) override {
    publish_.seed_candle(instrument, iv, c, now);
  }
  void backlog_second(engine::instrument_id instrument, const analytics::candle& second) override {
    publish_.seed_second(instrument, second.open_time, second.summary);
  }
  void position(const engine::client_id& client, engine::instrument_id instrument,
                const clearing::position& p) override {
    publish_.seed_position(client, instrument, p);
  }
  void instrument_halted(engine::instrument_id instrument) override {
    engine_.restore_halted(instrument, true);
    publish_.seed_halted(instrument);
  }
  void clock_floor(engine::timestamp_us t) override { engine_.advance_clock(t); }
  void counters(engine::sequence_number last_sequence, engine::trade_id last_trade) override {
    engine_.restore_counters(last_sequence, last_trade);
    publish_.seed_sequence(last_sequence);
  }

 private:
  engine::matching_engine& engine_;
  sequencer::engine_stage& stage_;
  publish::publish_stage& publish_;
  std::vector<std::pair<engine::order_id, engine::order_label>> labels_;
};

// Seeds the read views (GET /orders/{id}, /orderbook) with every resting order and level
// of the rebuilt books. Only reads the engine.
void seed_resting_views(const engine::matching_engine& engine, publish::publish_stage& publish) {
  for (engine::instrument_id i = 0; i < engine.instruments().size(); ++i) {
    const engine::order_book& book = engine.book(i);
    book.for_each_stop([&](const engine::order& o) { publish.seed_order(o); });
    for (const engine::side s : {engine::side::buy, engine::side::sell}) {
      book.for_each_order(s, [&](const engine::order& o) { publish.seed_order(o); });
      std::vector<publish::price_ladder::level> levels;
      levels.reserve(book.level_count(s));
      book.for_each_level(s, SIZE_MAX, [&](const engine::order_book::level_view& l) {
        levels.push_back(l);
        return true;
      });
      publish.seed_levels(i, s, levels);
    }
  }
}

}  // namespace

void daemon::recover() {
  auto log = obs::logger("store");
  // Wait for the database as long as it takes: until then /readyz says why.
  std::chrono::milliseconds delay{100};
  for (int attempt = 1;; ++attempt) {
    try {
      // The lock first: what the migrations and recovery then read and write is ours alone.
      take_writer_lock();
      store::apply_migrations(db_conninfo_);
      break;
    } catch (const pqxx::broken_connection& e) {
      // Unreachable is worth waiting for; a migration that fails is not (it propagates), nor
      // is a server that refuses who we are or the database we name.
      throw_if_database_rejected(e.what());
      waiting_for_database_.store(true, std::memory_order_relaxed);
      log->warn("database not reachable at start-up attempt={} retry_in_ms={} error={}", attempt,
                delay.count(), one_line(e.what()));
      std::this_thread::sleep_for(delay);
      delay = std::min(delay * 2, std::chrono::milliseconds(5000));
    }
  }
  waiting_for_database_.store(false, std::memory_order_relaxed);
  restore_added_instruments();
  // Before this run commits anything: an exporting sink starts where the journal stands, a
  // sink no longer configured stops holding journal rows back.
  std::vector<std::string> sinks;
  if (exporter_) sinks.emplace_back(event_export::kJetStreamSink);
  if (webhooks_) sinks.emplace_back(event_export::kWebhookSink);
  const auto positions = store::prepare_export_sinks(db_conninfo_, sinks);
  if (exporter_) log->info("export to JetStream from journal row {}", positions.front());
  // Before recovery reads the positions, and before the applier writes more of them.
  store::complete_positions(db_conninfo_, engine_->instruments());
  // Recovery feeds the engine as it reads; a failure half-way leaves it half-built, so it
  // is fatal (the supervisor restarts the process) rather than retried.
  const auto rebuild_started = std::chrono::steady_clock::now();
  daemon_recovery_sink sink(*engine_, *engine_stage_, *publish_stage_);
  publish_stage_->begin_seeding();
  // The retention horizon: open orders always, finished orders and keys within it.
  const store::recovery_report report = store::recover(db_conninfo_, engine_->instruments(), 1000,
                                                       sink, bus::wall_us() - cfg_.retention_us);
  // Both only read the books, and each takes about a second for a million orders: on two
  // cores they run side by side.
  auto invariants = std::async(std::launch::async, [this] { return engine_->check_invariants(); });
  seed_resting_views(*engine_, *publish_stage_);
  publish_stage_->finish_seeding();
  sink.seed_labels();
  if (const std::string problem = invariants.get(); !problem.empty()) {
    throw std::runtime_error("recovered books fail their invariants: " + problem);
  }
  // seconds: the whole rebuild after the migrations; read_seconds: its database part.
  const double rebuild_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - rebuild_started).count();
  store_stage_->set_recovered(report.last_sequence, report.last_trade_id);
  log->info(
      "recovered resting_orders={} finished_orders={} idempotency_keys={} recent_trades={} "
      "live_candles={} halted_instruments={} positions={} journal_rows={} journal_orders={} "
      "last_sequence={} last_trade_id={} read_seconds={:.3f} seconds={:.3f}",
      report.resting_orders, report.finished_orders, report.idempotency_keys, report.recent_trades,
      report.live_candles, report.halted_instruments, report.positions, report.journal_rows,
      report.journal_orders, report.last_sequence, report.last_trade_id, report.seconds,
      rebuild_seconds);
}

// The instruments added at runtime, after the configured ones, in the order they were added:
// each stage learns them as it would have from the engine's add_instrument outcome. A
// --instrument flag naming one with other rules refuses the start: the table defines it, and
// its orders' ticks and lots mean what its rules say.
void daemon::restore_added_instruments() {
  for (const engine::instrument& ins : store::read_added_instruments(db_conninfo_)) {
    if (const auto configured = engine_->find_instrument(ins.symbol)) {
      if (engine_->instruments()[*configured] == ins) continue;
      throw startup_error(kExitUsage,
                          "instrument " + ins.symbol +
                              " was added at runtime (POST /admin/instruments) with other rules "
                              "than --instrument gives it; drop the flag, or make it agree with "
                              "GET /instruments/" +
                              ins.symbol);
    }
    if (const engine::errc e = engine_->restore_instrument(ins); e != engine::errc::ok) {
      throw std::runtime_error("cannot restore instrument " + ins.symbol + ": " +
                               std::string(engine::to_code(e)));
    }
    store_stage_->add_instrument(ins);
    publish_stage_->add_instrument(ins);
    if (history_reader_) history_reader_->add_instrument(ins);
    if (analytics_reader_) analytics_reader_->add_instrument(ins);
    if (settlement_worker_) settlement_worker_->add_instrument(ins);
    if (exporter_) exporter_->add_instrument(ins);
    server_->add_instrument(ins);
    obs::logger("store")->info("instrument {} restored (added at runtime)", ins.symbol);
  }
}

// Held by another session at start: often the session of a predecessor killed a moment ago,
// which PostgreSQL ends as soon as it notices, so the lock is asked for again during
// --db-timeout before the start is refused. Nothing has been recovered or served by then.
void daemon::take_writer_lock() {
  const auto give_up_at = std::chrono::steady_clock::now() + cfg_.db_timeout;
  bool said = false;
  while (true) {
    try {
      store_stage_->take_writer_lock();
      return;
    } catch (const store::writer_lock_held& e) {
      if (std::chrono::steady_clock::now() >= give_up_at) {
        throw startup_error(
            kExitDatabaseInUse,
            "another matchd holds the database given by --db (MATCHD_DB): " + one_line(e.what()) +
                "; one daemon per database: stop that one first, or give this one another "
                "database (if that session is not a matchd any more, end it with "
                "SELECT pg_terminate_backend(" +
                std::to_string(e.holder_pid()) + "))");
      }
      if (!said) {
        obs::logger("store")->warn("writer lock held, asking again for {} ms: {}",
                                   cfg_.db_timeout.count(), one_line(e.what()));
        said = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

// On the store thread. The stop that follows is the same as after SIGTERM (main waits for
// that signal), ending with exit status kExitDatabaseInUse. (In the instant between the
// store stage's start and main's signal handler, SIGTERM's default action ends the process
// instead: it acknowledges nothing more either way.)
void daemon::writer_lock_lost() {
  writer_lock_lost_.store(true);
  server_->set_accepting(false);  // new orders: 503 not_ready
  ::kill(::getpid(), SIGTERM);
}

int daemon::exit_status() const {
  return writer_lock_lost_.load() ? kExitDatabaseInUse : kExitOk;
}

void daemon::sample_queue_depths() {
  std::size_t to_engine = 0;
  std::size_t deliveries = 0;
  for (const auto& q : io_queues_) {
    to_engine += q.to_engine->size();
    deliveries += q.deliveries->size();
  }
  queue_depth_->Add({{"queue", "engine_input"}}).Set(static_cast<double>(to_engine));
  queue_depth_->Add({{"queue", "engine_output"}}).Set(static_cast<double>(executed_->size()));
  if (committed_) {
    queue_depth_->Add({{"queue", "store_output"}}).Set(static_cast<double>(committed_->size()));
  }
  queue_depth_->Add({{"queue", "deliveries"}}).Set(static_cast<double>(deliveries));
}

void daemon::stop() {
  if (!started_) return;
  started_ = false;
  auto log = obs::logger("app");
  if (feed_) {
    feed_->stop();
    feed_ioc_->stop();
    if (feed_thread_.joinable()) feed_thread_.join();
  }
  server_->stop_accepting();
  keys_->stop();
  // Without the writer lock nothing in flight will be answered: no point waiting.
  const auto deadline =
      std::chrono::steady_clock::now() +
      (writer_lock_lost_.load() ? std::chrono::seconds(0) : std::chrono::seconds(5));
  while (server_->inflight() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (server_->inflight() > 0) {
    log->warn("stopping with {} commands unanswered", server_->inflight());
  }
  server_->stop();
  // What it published but did not record is sent again next time (and dropped as a copy).
  if (exporter_) exporter_->stop();
  if (webhooks_) webhooks_->stop();
  // A settlement waiting for the tables gives up (503); one being written is finished.
  if (settlement_worker_) settlement_worker_->stop();
  engine_stage_->stop();
  if (store_stage_) store_stage_->stop();
  // Before the publish stage, which then delivers the answers it gave.
  if (history_reader_) history_reader_->stop();
  if (analytics_reader_) analytics_reader_->stop();
  publish_stage_->stop();
}

}  // namespace matchd::app
