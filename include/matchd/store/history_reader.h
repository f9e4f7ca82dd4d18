#pragma once

#include <matchd/bus/idle_waiter.h>
#include <matchd/bus/messages.h>
#include <matchd/bus/spsc_queue.h>
#include <matchd/engine/instrument.h>
#include <matchd/store/reader_options.h>

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

// The publish stage answers 503 overloaded beyond queue_capacity queries.
using history_options = reader_options;

class reader_session;

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
  std::int64_t timeout_ns() const;

  history_options options_;
  std::mutex instruments_mutex_;  // guards instruments_: one lock per history query
  std::vector<engine::instrument> instruments_;
  std::function<void()> wake_publish_;
  bus::spsc_queue<bus::history_query> requests_;
  bus::spsc_queue<bus::history_answer> answers_;
  bus::idle_waiter waiter_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<reader_session> session_;
  std::thread thread_;
};

}  // namespace matchd::store
