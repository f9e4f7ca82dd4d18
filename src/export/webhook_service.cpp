#include <matchd/bus/backoff.h>
#include <matchd/bus/clock.h>
#include <matchd/codec/json_writer.h>
#include <matchd/codec/wire.h>
#include <matchd/export/webhook_sender.h>
#include <matchd/export/webhook_service.h>
#include <matchd/export/webhook_signature.h>
#include <matchd/obs/logger.h>
#include <matchd/obs/thread_name.h>
#include <matchd/store/export_cursor.h>
#include <matchd/store/webhook_tables.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <algorithm>
#include <pqxx/pqxx>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "order_labels.h"

namespace matchd::event_export {

class webhook_probe {
 public:
  explicit webhook_probe(obs::registry& r)
      : attempts_(prometheus::BuildCounter()
                      .Name("webhook_attempts_total")
                      .Help("Webhook delivery attempts, by outcome")
                      .Register(r)),
        delivered_(attempts_.Add({{"outcome", "delivered"}})),
        failed_(attempts_.Add({{"outcome", "failed"}})),
        dead_(prometheus::BuildCounter()
                  .Name("webhook_dead_total")
                  .Help("Webhook deliveries given up after the retry horizon")
                  .Register(r)
                  .Add({})),
        created_(prometheus::BuildCounter()
                     .Name("webhook_deliveries_total")
                     .Help("Webhook deliveries made from committed events")
                     .Register(r)
                     .Add({})),
        in_flight_(prometheus::BuildGauge()
                       .Name("webhook_in_flight")
                       .Help("Webhook deliveries being sent")
                       .Register(r)
                       .Add({})) {}

  prometheus::Family<prometheus::Counter>& attempts_;
  prometheus::Counter& delivered_;
  prometheus::Counter& failed_;
  prometheus::Counter& dead_;
  prometheus::Counter& created_;
  prometheus::Gauge& in_flight_;
};

namespace {

using status = webhook_source::status;

const std::string kUnavailable = "the database is not answering; retry shortly";
constexpr std::size_t kRowsPerRound = 64;

bool wants(const store::webhook_subscription& w, std::string_view type) {
  for (const std::string& e : w.events) {
    if (e == type || e == "*") return true;
    if (e == "order.*" && type.starts_with("order.")) return true;
  }
  return false;
}

// {"id","type","created_at","data"}: what a delivery POSTs.
std::string delivery_body(std::string_view id, std::string_view type, engine::timestamp_us at,
                          std::string_view data) {
  std::string body;
  codec::json_writer w(body);
  w.begin_object();
  w.key("id");
  w.string_value(id);
  w.key("type");
  w.string_value(type);
  w.key("created_at");
  w.timestamp_value(at);
  w.key("data");
  w.raw_value(data);
  w.end_object();
  return body;
}

}  // namespace

// What the service thread alone touches.
struct webhook_service::state {
  explicit state(const webhook_options& o)
      : cursor(o.conninfo, kWebhookSink, o.db_timeout), backoff_rng(std::random_device{}()) {}

  store::export_cursor cursor;
  std::vector<engine::instrument> instruments;
  std::vector<store::webhook_subscription> webhooks;
  bool webhooks_loaded = false;
  std::chrono::steady_clock::time_point next_skip{};  // without webhooks: once a second
  bool fresh = true;  // a new session: labels to load, position to read
  engine::sequence_number delivered_row = 0;
  order_labels labels;
  bool labels_skipped = false;             // rows passed without a webhook: labels to load again
  std::unordered_set<std::uint64_t> busy;  // webhooks with an attempt in flight
  std::mt19937_64 backoff_rng;
};

webhook_service::webhook_service(webhook_options options,
                                 std::vector<engine::instrument> instruments,
                                 obs::registry& metrics)
    : options_(std::move(options)),
      probe_(std::make_unique<webhook_probe>(metrics)),
      sender_(std::make_unique<webhook_sender>(options_.delivery_timeout, options_.allow_private)),
      instruments_(std::move(instruments)) {}

webhook_service::~webhook_service() {
  stop();
}

void webhook_service::start() {
  sender_->start();
  thread_ = std::thread([this] {
    obs::name_this_thread("matchd-webhooks");
    run();
  });
}

void webhook_service::stop() {
  if (!thread_.joinable()) return;
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  sender_->stop();
}

void webhook_service::add_instrument(const engine::instrument& ins) {
  const std::lock_guard lock(mutex_);
  added_.push_back(ins);
}

void webhook_service::wake() {
  {
    const std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_one();
}

void webhook_service::enqueue(std::function<void(state&)> job, const done_fn& done) {
  {
    const std::lock_guard lock(mutex_);
    if (!stopping_ && jobs_.size() < options_.queue_capacity) {
      jobs_.push_back(std::move(job));
      woken_ = true;
      wake_.notify_one();
      return;
    }
  }
  done(status::overloaded, "too many webhook requests waiting; retry shortly");
}

namespace {

// Runs `body` in a transaction of the service's session; a database failure answers
// unavailable and drops the session.
template <class Body>
void in_transaction(store::export_cursor& cursor, const webhook_source::done_fn& done,
                    Body&& body) {
  try {
    cursor.transact([&](pqxx::transaction_base& tx) { body(tx); });
  } catch (const std::exception& e) {
    cursor.reset();
    obs::logger("webhooks")->warn("webhook request failed: {}", e.what());
    done(status::unavailable, kUnavailable);
  }
}

}  // namespace

void webhook_service::create(registration r, done_fn done) {
  enqueue(
      [this, r = std::move(r), done](state& s) {
        std::optional<std::string> body;
        std::string refused;
        in_transaction(s.cursor, done, [&](pqxx::transaction_base& tx) {
          const store::webhook_counts n = store::count_webhooks(tx, r.client_id);
          if (static_cast<std::size_t>(n.total) >= options_.max_webhooks) {
            refused = "this venue has " + std::to_string(n.total) +
                      " webhooks, the most it keeps; delete one first";
            return;
          }
          if (r.client_id && static_cast<std::size_t>(n.of_client) >= options_.max_per_client) {
            refused = "client " + *r.client_id + " has " + std::to_string(n.of_client) +
                      " webhooks, the most one client may have; delete one first";
            return;
          }
          store::new_webhook w{r.url,        r.events,      r.client_id, new_webhook_secret(),
                               r.created_by, bus::wall_us()};
          body = store::create_webhook(tx, w);
          s.webhooks_loaded = false;  // the dispatcher sees it from the next event on
        });
        if (body) return done(status::created, std::move(*body));
        if (!refused.empty()) done(status::too_many, std::move(refused));
      },
      done);
}

void webhook_service::list(engine::client_scope scope, done_fn done) {
  enqueue(
      [scope = std::move(scope), done](state& s) {
        std::string body;
        bool ok = false;
        in_transaction(s.cursor, done, [&](pqxx::transaction_base& tx) {
          body = store::list_webhooks(tx, scope);
          ok = true;
        });
        if (ok) done(status::ok, std::move(body));
      },
      done);
}

void webhook_service::remove(std::uint64_t webhook_id, engine::client_scope scope, done_fn done) {
  enqueue(
      [webhook_id, scope = std::move(scope), done](state& s) {
        std::optional<std::string> body;
        bool ok = false;
        in_transaction(s.cursor, done, [&](pqxx::transaction_base& tx) {
          body = store::delete_webhook(tx, webhook_id, scope, bus::wall_us());
          ok = true;
        });
        if (!ok) return;
        s.webhooks_loaded = false;
        if (!body) {
          return done(status::webhook_not_found, "no webhook " + std::to_string(webhook_id));
        }
        done(status::ok, std::move(*body));
      },
      done);
}

void webhook_service::deliveries(std::uint64_t webhook_id, std::string which, std::size_t limit,
                                 std::optional<std::uint64_t> before, engine::client_scope scope,
                                 done_fn done) {
  enqueue(
      [webhook_id, which = std::move(which), limit, before, scope = std::move(scope),
       done](state& s) {
        std::optional<std::string> body;
        bool ok = false;
        in_transaction(s.cursor, done, [&](pqxx::transaction_base& tx) {
          body = store::list_deliveries(tx, webhook_id, which, limit, before, scope);
          ok = true;
        });
        if (!ok) return;
        if (!body) {
          return done(status::webhook_not_found, "no webhook " + std::to_string(webhook_id));
        }
        done(status::ok, std::move(*body));
      },
      done);
}

void webhook_service::retry(std::uint64_t delivery_id, engine::client_scope scope, done_fn done) {
  enqueue(
      [this, delivery_id, scope = std::move(scope), done](state& s) {
        store::retry_outcome outcome;
        bool ok = false;
        in_transaction(s.cursor, done, [&](pqxx::transaction_base& tx) {
          outcome = store::retry_delivery(tx, delivery_id, scope, bus::wall_us());
          ok = true;
        });
        if (!ok) return;
        using kind = store::retry_outcome::kind;
        switch (outcome.what) {
          case kind::retried:
            wake();
            return done(status::accepted, std::move(outcome.body));
          case kind::not_found:
            return done(status::delivery_not_found, "no delivery " + std::to_string(delivery_id));
          case kind::not_dead:
            return done(status::not_dead, "delivery " + std::to_string(delivery_id) +
                                              " is not dead: only a dead delivery is retried");
        }
      },
      done);
}

void webhook_service::post(std::function<void(state&)> job) {
  {
    const std::lock_guard lock(mutex_);
    if (stopping_) return;
    jobs_.push_back(std::move(job));
    woken_ = true;
  }
  wake_.notify_one();
}

void webhook_service::load_labels(state& s) {
  s.labels.clear();
  s.cursor.labels(s.delivered_row, s.instruments,
                  [&](std::string_view id, std::string_view label) { s.labels.set(id, label); });
}

void webhook_service::dispatch(state& s) {
  // Without a webhook there is nothing to make: the position follows the journal without
  // reading it, so an idle feature costs the order flow nothing.
  if (s.webhooks.empty()) {
    const auto now = std::chrono::steady_clock::now();
    if (now < s.next_skip) return;
    s.next_skip = now + std::chrono::seconds(1);
    const engine::sequence_number end = s.cursor.journal_end();
    if (end > s.delivered_row) {
      s.cursor.advance(end);
      s.delivered_row = end;
      s.labels_skipped = true;
    }
    return;
  }
  // Rows passed unread may have placed labelled orders that later states (a fill) name.
  if (s.labels_skipped) {
    load_labels(s);
    s.labels_skipped = false;
  }
  store::export_batch batch;
  std::vector<store::new_delivery> made;
  std::unordered_map<std::string, std::string> owners;  // order_id -> client_id, this batch
  std::string data;
  for (int round = 0; round < 8; ++round) {
    s.cursor.read(s.delivered_row, kRowsPerRound, s.instruments, batch);
    if (batch.rows == 0) return;
    made.clear();
    owners.clear();
    // A trade's orders both have a state in its command, the taker's after the trade: their
    // clients are known from the whole batch.
    for (const engine::event& e : batch.events) {
      if (const auto* o = std::get_if<engine::order>(&e)) {
        owners.insert_or_assign(std::string(o->id.view()), std::string(o->client.view()));
      }
    }
    const auto deliver = [&](std::string_view type, engine::sequence_number seq,
                             engine::timestamp_us at, std::initializer_list<std::string_view> to) {
      std::string body;
      for (const store::webhook_subscription& w : s.webhooks) {
        if (!wants(w, type)) continue;
        if (w.client_id && std::find(to.begin(), to.end(), *w.client_id) == to.end()) continue;
        const std::string id = "evt_" + std::to_string(seq);
        if (body.empty()) body = delivery_body(id, type, at, data);
        made.push_back({w.webhook_id, id, std::string(type), body});
      }
    };
    std::size_t next_label = 0;
    for (std::size_t i = 0; i < batch.events.size(); ++i) {
      const engine::event& e = batch.events[i];
      data.clear();
      if (const auto* o = std::get_if<engine::order>(&e)) {
        while (next_label < batch.labels.size() && batch.labels[next_label].event < i) {
          ++next_label;
        }
        if (next_label < batch.labels.size() && batch.labels[next_label].event == i) {
          s.labels.set(o->id.view(), batch.labels[next_label].client_order_id.view());
        }
        codec::append_order(data, *o, s.instruments[o->instrument], s.labels.find(o->id.view()));
        const std::string type = "order." + std::string(engine::to_string(o->status));
        deliver(type, o->sequence, o->updated_at, {o->client.view()});
        if (engine::is_final(o->status)) s.labels.finished(o->id.view());
      } else if (const auto* t = std::get_if<engine::trade>(&e)) {
        codec::append_trade(data, *t, s.instruments[t->instrument]);
        const auto buyer = owners.find(std::string(t->buy_order_id.view()));
        const auto seller = owners.find(std::string(t->sell_order_id.view()));
        deliver("trade", t->sequence, t->executed_at,
                {buyer != owners.end() ? std::string_view(buyer->second) : std::string_view(),
                 seller != owners.end() ? std::string_view(seller->second) : std::string_view()});
      }
    }
    const engine::timestamp_us now = bus::wall_us();
    s.cursor.advance_with(batch.last_row, [&](pqxx::transaction_base& tx) {
      store::insert_deliveries(tx, made, now);
    });
    s.delivered_row = batch.last_row;
    probe_->created_.Increment(static_cast<double>(made.size()));
    if (batch.rows < kRowsPerRound) return;
  }
}

void webhook_service::schedule(state& s) {
  if (s.busy.size() >= options_.max_in_flight) return;
  // Deliveries are pending only while their webhook lives: none without webhooks.
  if (s.webhooks.empty()) return;
  const std::vector<std::uint64_t> busy(s.busy.begin(), s.busy.end());
  std::vector<store::due_delivery> due;
  s.cursor.transact([&](pqxx::transaction_base& tx) {
    due = store::due_deliveries(tx, bus::wall_us(), busy, options_.max_in_flight - s.busy.size());
  });
  for (store::due_delivery& d : due) {
    s.busy.insert(d.webhook_id);
    webhook_request request{d.delivery_id,       std::move(d.url),      std::move(d.body),
                            std::move(d.secret), std::move(d.event_id), std::move(d.event_type)};
    sender_->send(std::move(request), [this, webhook = d.webhook_id, attempts = d.attempts,
                                       horizon_from = d.horizon_from](webhook_result r) {
      post([this, webhook, attempts, horizon_from, r = std::move(r)](state& st) {
        st.busy.erase(webhook);
        store::attempt_record a;
        a.delivery_id = r.delivery_id;
        a.status = r.status;
        a.error = r.error;
        a.at = bus::wall_us();
        if (r.delivered) {
          a.what = store::attempt_record::kind::delivered;
          probe_->delivered_.Increment();
        } else {
          probe_->failed_.Increment();
          // Equal jitter below min(max, initial x 2^attempts): spread, never at once.
          const auto ceiling =
              std::min<std::int64_t>(options_.max_backoff.count(), options_.initial_backoff.count()
                                                                       << std::min(attempts, 30));
          std::uniform_int_distribution<std::int64_t> pick(ceiling / 2, ceiling);
          a.next_attempt = a.at + pick(st.backoff_rng) * 1000;
          const bool past = a.next_attempt > horizon_from + options_.retry_horizon.count() * 1000;
          a.what = past ? store::attempt_record::kind::dead : store::attempt_record::kind::retry;
          if (past) probe_->dead_.Increment();
        }
        try {
          st.cursor.transact([&](pqxx::transaction_base& tx) { store::record_attempt(tx, a); });
        } catch (const std::exception& e) {
          // Still pending as it was: it is attempted again (at least once).
          st.cursor.reset();
          obs::logger("webhooks")->warn("webhook attempt not recorded: {}", e.what());
        }
      });
    });
  }
  probe_->in_flight_.Set(static_cast<double>(s.busy.size()));
}

void webhook_service::run() {
  auto log = obs::logger("webhooks");
  state s(options_);
  {
    const std::lock_guard lock(mutex_);
    s.instruments = instruments_;
  }
  bus::retry_backoff db_backoff(std::chrono::milliseconds(100), std::chrono::milliseconds(5000),
                                bus::jitter::equal, std::random_device{}());
  log->info("webhook service started retry_horizon_s={} timeout_ms={}",
            std::chrono::duration_cast<std::chrono::seconds>(options_.retry_horizon).count(),
            options_.delivery_timeout.count());
  while (true) {
    std::deque<std::function<void(state&)>> jobs;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, options_.poll_interval, [this] { return stopping_ || woken_; });
      if (stopping_) break;
      woken_ = false;
      jobs.swap(jobs_);
      for (engine::instrument& ins : added_) s.instruments.push_back(std::move(ins));
      added_.clear();
    }
    for (auto& job : jobs) job(s);
    try {
      if (s.fresh) {
        s.delivered_row = s.cursor.position();
        load_labels(s);
        s.fresh = false;
      }
      if (!s.webhooks_loaded) {
        s.cursor.transact(
            [&](pqxx::transaction_base& tx) { s.webhooks = store::live_webhooks(tx); });
        s.webhooks_loaded = true;
      }
      dispatch(s);
      schedule(s);
      db_backoff.reset();
    } catch (const std::exception& e) {
      s.cursor.reset();
      s.fresh = true;
      s.webhooks_loaded = false;
      const auto wait = db_backoff.next();
      log->warn("webhook service: database failed retry_in_ms={} error={}", wait.count(), e.what());
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, wait, [this] { return stopping_; });
    }
  }
  log->info("webhook service stopped");
}

}  // namespace matchd::event_export
