#include <gtest/gtest.h>
#include <matchd/bus/clock.h>
#include <matchd/store/history_reader.h>

#include <chrono>
#include <optional>

#include "wait.h"

namespace matchd::store {
namespace {

using namespace std::chrono_literals;
using result = bus::history_answer::result;

// Without a database: every query is answered, 503-bound (`unavailable`), and the reader
// neither blocks nor loses a query. Nothing listens on 127.0.0.1 port 1, so the connection
// is refused at once.
class history_reader_offline : public ::testing::Test {
 protected:
  history_reader_offline() {
    history_options options;
    options.conninfo = "host=127.0.0.1 port=1 connect_timeout=2";
    options.queue_capacity = 8;
    options.timeout = 2000ms;
    // Long enough that the second query comes while the first failure's backoff runs.
    options.initial_backoff = 60000ms;
    options.max_backoff = 60000ms;
    reader_ = std::make_unique<history_reader>(
        options, std::vector<engine::instrument>{engine::instrument::btc_usd()}, [] {});
    reader_->start();
  }
  ~history_reader_offline() override { reader_->stop(); }

  void ask(std::uint64_t token, std::int64_t asked_ns = bus::steady_ns()) {
    bus::history_query q;
    q.token = token;
    q.id = engine::order_id::from("o-" + std::to_string(token));
    q.asked_ns = asked_ns;
    ASSERT_TRUE(reader_->requests().try_push(q));
    reader_->notify();
  }
  std::optional<bus::history_answer> next() {
    std::optional<bus::history_answer> got;
    (void)test::wait_until(
        [&] {
          if (bus::history_answer* a = reader_->answers().front()) {
            got = *a;
            reader_->answers().pop();
          }
          return got.has_value();
        },
        10s, 1ms);
    return got;
  }

  std::unique_ptr<history_reader> reader_;
};

TEST_F(history_reader_offline, an_unreachable_database_answers_unavailable_and_backs_off) {
  ask(1);
  std::optional<bus::history_answer> a = next();
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->token, 1u);
  EXPECT_EQ(a->what, result::unavailable);
  EXPECT_EQ(a->order.id.view(), "o-1");
  // Within the backoff: answered without another attempt (a refused connect is quick too,
  // so this checks the answer, not the time).
  ask(2);
  a = next();
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->token, 2u);
  EXPECT_EQ(a->what, result::unavailable);
}

TEST_F(history_reader_offline, a_query_past_its_deadline_in_the_queue_is_unavailable) {
  ask(3, bus::steady_ns() - std::chrono::duration_cast<std::chrono::nanoseconds>(10s).count());
  const std::optional<bus::history_answer> a = next();
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->token, 3u);
  EXPECT_EQ(a->what, result::unavailable);
}

}  // namespace
}  // namespace matchd::store
