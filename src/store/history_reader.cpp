#include <matchd/bus/clock.h>
#include <matchd/obs/logger.h>
#include <matchd/obs/thread_name.h>
#include <matchd/store/history_reader.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <pqxx/pqxx>

#include "order_columns.h"
#include "reader_session.h"

namespace matchd::store {

namespace {

// The newest use of an id: an id may have a row per use (sql/004_retention.sql), and the
// primary key (order_id, created_sequence) serves this as one index probe.
const std::string kNewestOrderQuery = std::string("SELECT ") + kOrderColumns +
                                      " FROM orders WHERE order_id = $1"
                                      " ORDER BY created_sequence DESC LIMIT 1";

// One page of a client's finished orders, newest first: a backward scan of the
// orders_client_finished index (sql/011_orders_client_finished.sql) from the cursor. The
// open orders are all in the order view, which the page is merged with; the status clause
// is the index's own predicate, word for word, so the planner can use it.
const char* const kFinishedRows = " AND status NOT IN ('open', 'partially_filled')";
const std::string kClientPageQuery = std::string("SELECT ") + kOrderColumns +
                                     " FROM orders WHERE client_id = $1 AND created_sequence < $2" +
                                     kFinishedRows + " ORDER BY created_sequence DESC LIMIT $3";
const std::string kClientInstrumentPageQuery =
    std::string("SELECT ") + kOrderColumns +
    " FROM orders WHERE client_id = $1 AND created_sequence < $2 AND instrument = $4" +
    kFinishedRows + " ORDER BY created_sequence DESC LIMIT $3";

}  // namespace

const std::string& order_page_sql(bool by_instrument) {
  return by_instrument ? kClientInstrumentPageQuery : kClientPageQuery;
}

history_reader::history_reader(history_options options, std::vector<engine::instrument> instruments,
                               std::function<void()> wake_publish)
    : options_(std::move(options)),
      instruments_(std::move(instruments)),
      wake_publish_(std::move(wake_publish)),
      requests_(options_.queue_capacity),
      // Every query asked can be answered without waiting for room.
      answers_(options_.queue_capacity),
      session_(std::make_unique<reader_session>(options_, "history")) {}

history_reader::~history_reader() {
  stop();
}

void history_reader::start() {
  thread_ = std::thread([this] {
    obs::name_this_thread("matchd-history");
    run();
  });
}

void history_reader::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true, std::memory_order_release);
  waiter_.notify();
  thread_.join();
}

void history_reader::run() {
  auto log = obs::logger("history");
  log->info("history reader started queue={} timeout_ms={}", requests_.capacity(),
            options_.timeout.count());
  while (true) {
    waiter_.wait(
        [this] { return !requests_.empty() || stopping_.load(std::memory_order_acquire); });
    bool answered = false;
    while (bus::history_query* q = requests_.front()) {
      bus::history_answer a = answer(*q);
      requests_.pop();
      // The answer queue is as large as the request queue, and the publish stage asks only
      // while the request queue has room: never full for long.
      while (!answers_.try_push(std::move(a))) std::this_thread::yield();
      answered = true;
      // Answer as they come, not after the whole queue: each query may take a round trip.
      wake_publish_();
    }
    if (!answered && stopping_.load(std::memory_order_acquire)) break;
  }
  session_->close();
  log->info("history reader stopped");
}

bus::history_answer history_reader::answer(const bus::history_query& q) {
  bus::history_answer a;
  a.io_thread = q.io_thread;
  a.token = q.token;
  a.order.id = q.id;
  a.scope = q.scope;
  a.page = q.page;
  a.what = bus::history_answer::result::unavailable;
  // Waited its whole deadline in the queue (behind a slow database): the client has a
  // 503 at once rather than a late answer.
  if (bus::steady_ns() - q.asked_ns >= timeout_ns()) return a;
  if (!session_->may_try(std::chrono::steady_clock::now())) return a;
  try {
    return look_up(q);
  } catch (const std::exception& e) {
    session_->fail(e);
  }
  return a;
}

bus::history_answer history_reader::look_up(const bus::history_query& q) {
  pqxx::connection& c = session_->open();
  bus::history_answer a;
  a.io_thread = q.io_thread;
  a.token = q.token;
  a.order.id = q.id;
  a.scope = q.scope;
  // What is left of the query's deadline bounds its round trip.
  const auto window =
      session_->arm(std::chrono::steady_clock::now() +
                    std::chrono::nanoseconds(q.asked_ns + timeout_ns() - bus::steady_ns()));
  // One statement, one round trip: no BEGIN/COMMIT around it.
  pqxx::nontransaction tx(c);
  if (q.page) return read_page(tx, *q.page, std::move(a));
  const pqxx::result rows = tx.exec_params(kNewestOrderQuery, std::string(q.id.view()));
  if (rows.empty()) {
    a.what = bus::history_answer::result::not_found;
    return a;
  }
  order_fields f;
  for (std::size_t i = 0; i < kOrderColumnCount; ++i) {
    const pqxx::field field = rows[0][static_cast<pqxx::row::size_type>(i)];
    f[i] = std::string_view(field.c_str(), field.size());
  }
  std::optional<engine::instrument_id> instrument;
  {
    const std::lock_guard lock(instruments_mutex_);
    instrument = engine::find_instrument(instruments_, f[2]);
  }
  if (!instrument) {
    // An instrument no longer configured: there is no way to write its prices.
    a.what = bus::history_answer::result::not_found;
    return a;
  }
  a.order = order_from_fields(f, *instrument);
  a.client_order_id = engine::order_label::from(label_from_fields(f));
  a.what = engine::is_final(a.order.status) ? bus::history_answer::result::found
                                            : bus::history_answer::result::not_applied;
  return a;
}

void history_reader::add_instrument(const engine::instrument& ins) {
  const std::lock_guard lock(instruments_mutex_);
  instruments_.push_back(ins);
}

bus::history_answer history_reader::read_page(pqxx::transaction_base& tx,
                                              const bus::order_page_request& page,
                                              bus::history_answer a) {
  a.page = page;
  constexpr auto kNoBound = std::numeric_limits<std::int64_t>::max();
  const std::int64_t before = page.before == 0 || page.before > static_cast<std::uint64_t>(kNoBound)
                                  ? kNoBound
                                  : static_cast<std::int64_t>(page.before);
  const std::string client(page.client.view());
  std::string symbol;
  if (page.instrument) {
    const std::lock_guard lock(instruments_mutex_);
    // Added a moment ago and not yet told here: it can have no row yet.
    if (*page.instrument >= instruments_.size()) {
      a.what = bus::history_answer::result::found;
      return a;
    }
    symbol = instruments_[*page.instrument].symbol;
  }
  const pqxx::result rows =
      page.instrument
          ? tx.exec_params(kClientInstrumentPageQuery, client, before,
                           static_cast<std::int64_t>(page.limit), symbol)
          : tx.exec_params(kClientPageQuery, client, before, static_cast<std::int64_t>(page.limit));
  a.orders.reserve(rows.size());
  order_fields f;
  const std::lock_guard lock(instruments_mutex_);
  for (const pqxx::row& row : rows) {
    for (std::size_t i = 0; i < kOrderColumnCount; ++i) {
      const pqxx::field field = row[static_cast<pqxx::row::size_type>(i)];
      f[i] = std::string_view(field.c_str(), field.size());
    }
    // An instrument no longer configured: there is no way to write its prices.
    if (const auto instrument = engine::find_instrument(instruments_, f[2])) {
      a.orders.push_back(
          {order_from_fields(f, *instrument), engine::order_label::from(label_from_fields(f))});
    }
  }
  a.what = bus::history_answer::result::found;
  return a;
}

std::int64_t history_reader::timeout_ns() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(options_.timeout).count();
}

}  // namespace matchd::store
