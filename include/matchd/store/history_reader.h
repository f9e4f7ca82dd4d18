#pragma once

#include <matchd/bus/backoff.h>
#include <matchd/bus/idle_waiter.h>
#include <matchd/bus/messages.h>
#include <matchd/bus/spsc_queue.h>
#include <matchd/engine/instrument.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pqxx {
class transaction_base;
}

namespace matchd::store {

struct history_options {
  std::string conninfo;  // with the session settings (store/session_settings.h)
  // Queries waiting at most; the publish stage answers 503 overloaded beyond it.
  std::size_t queue_capacity = 1024;
  // A query's deadline, from when the publish stage asked (`--db-timeout`): a query that
  // waited or ran longer is answered `unavailable`, and a call that hangs has its session
  // cut (store/call_deadline.h).
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds initial_backoff{50};
  std::chrono::milliseconds max_backoff{2000};
};

class call_deadline;
struct db_connection;

// The SQL of one page of a client's finished orders (GET /orders?status=all), with
// parameters $1 client_id, $2 created_sequence bound, $3 limit and, by_instrument, $4 the
// instrument: for the test that PostgreSQL answers it from its index.
const std::string& order_page_sql(bool by_instrument);

// Serves GET /orders/{id} from the orders table for the orders the publish stage's read
// view no longer holds (finished longer ago than the retention horizon), in durable mode,
// and the pages of GET /orders?status=all (a client's orders by created_sequence, newest
// first), which the publish stage merges with its view.
// A thread of its own with a session of its own, so the publish stage never waits on
// PostgreSQL: it pushes a bus::history_query to `requests()` and drains `answers()` (both
// bounded, single producer and single consumer), and formats and delivers the answer as
// it does its own.
//
// Each query reads the newest row of the id (the highest created_sequence). The session
// is opened on the first query and replaced after any failure; until the next attempt,
// drawn by capped exponential backoff, queries are answered `unavailable` at once, so a
// database outage costs one deadline, not one per waiting query.
class history_reader {
 public:
  history_reader(history_options options, std::vector<engine::instrument> instruments,
                 std::function<void()> wake_publish);
  ~history_reader();
  history_reader(const history_reader&) = delete;
  history_reader& operator=(const history_reader&) = delete;

  void start();
  // Answers what is queued (or gives up on it at its deadline), then stops.
  void stop();

  bus::spsc_queue<bus::history_query>& requests() noexcept { return requests_; }
  bus::spsc_queue<bus::history_answer>& answers() noexcept { return answers_; }
  // The producer calls this after pushing to requests().
  void notify() noexcept { waiter_.notify(); }
  // An instrument added at runtime (any thread).
  void add_instrument(const engine::instrument& ins);

 private:
  void run();
  bus::history_answer answer(const bus::history_query& q);
  bus::history_answer look_up(const bus::history_query& q);
  bus::history_answer read_page(pqxx::transaction_base& tx, const bus::order_page_request& page,
                                bus::history_answer a);
  void fail(const std::exception& e);
  std::int64_t timeout_ns() const;

  history_options options_;
  std::mutex instruments_mutex_;  // guards instruments_: one lock per history query
  std::vector<engine::instrument> instruments_;
  std::function<void()> wake_publish_;
  bus::spsc_queue<bus::history_query> requests_;
  bus::spsc_queue<bus::history_answer> answers_;
  bus::idle_waiter waiter_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<call_deadline> deadline_;
  std::unique_ptr<db_connection> connection_;
  bus::retry_backoff backoff_;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::thread thread_;
};

}  // namespace matchd::store
