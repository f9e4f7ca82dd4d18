#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "daemon_process.h"
#include "db_state.h"
#include "http_client.h"
#include "order_load.h"

namespace matchd::pgtest {

// Arguments of a durable-mode daemon on `conninfo` (rate limiter off), plus `extra`.
std::vector<std::string> durable_daemon_args(const std::string& conninfo,
                                             std::vector<std::string> extra = {});

// Starts `load`, runs it until at least `min_acks` are acknowledged and `duration` has
// passed (at most 20 s), then kills the daemon with SIGKILL while the load is still
// running, and stops the load.
void kill_under_load(e2e::daemon_process& daemon, order_load& load, std::uint64_t min_acks,
                     std::chrono::milliseconds duration);

// One order each from `senders` concurrent clients, each on a connection of its own
// ("burst-<i>": alternately a buy at 99.00 and a sell at 101.00, so none trade), every
// answer recorded: for more orders than the in-flight budget while the database is away.
// Starts at construction; join() (or the destructor) waits for every answer.
class order_burst {
 public:
  order_burst(std::uint16_t port, int senders, std::chrono::milliseconds timeout);
  ~order_burst();
  order_burst(const order_burst&) = delete;
  order_burst& operator=(const order_burst&) = delete;

  void join();
  [[nodiscard]] int answered() const noexcept { return answered_.load(); }
  // Every sender's record (complete after join()).
  [[nodiscard]] const std::vector<exchange_record>& records() const noexcept { return records_; }

 private:
  std::vector<exchange_record> records_;
  std::vector<std::thread> senders_;
  std::atomic<int> answered_{0};
};

// The burst's answers once the database is back at `back_at`: each is a 201 that came no
// earlier (it waited for the database) or a 503 `overloaded` with Retry-After that came
// before (refused at once, beyond the budget), and both kinds occurred. Adds gtest failures;
// returns how many waited and how many were refused.
struct burst_outcome {
  std::size_t waited = 0;
  std::size_t refused = 0;
};
burst_outcome expect_waited_or_refused(const std::vector<exchange_record>& burst,
                                       std::chrono::steady_clock::time_point back_at);

// Polls GET /readyz until it answers `status`; returns the last answer (status 0 if none
// came). Bounded by `timeout`.
e2e::http_response wait_for_readyz(std::uint16_t port, unsigned status,
                                   std::chrono::milliseconds timeout);

// "2026-11-21T12:00:00.123456Z" -> microseconds since the epoch; nullopt if malformed.
std::optional<std::int64_t> rfc3339_to_micros(const std::string& text);

// Whether an order acknowledged in state `acked` may later be in state `now`
// (open -> partially_filled -> filled, open/partially_filled -> cancelled; terminal states stay).
bool status_may_follow(const std::string& acked, const std::string& now);

// Every acknowledged effect is in the database, and nothing that was refused is:
// - each 201 order exists in `orders` with its immutable fields as acknowledged and a state
//   at least as advanced (filled never smaller; terminal states unchanged);
// - each trade of a 201 response exists in `trades` with identical fields, and no trade id
//   is in two responses;
// - each 200 cancel left the order cancelled with the acknowledged filled quantity;
// - an order answered 4xx/503 (nothing accepted) does not exist.
// Returns the problems found (empty when all hold) and counts what was checked in `checked`.
struct ack_check_counts {
  std::size_t orders = 0;
  std::size_t trades = 0;
  std::size_t cancels = 0;
  std::size_t refused = 0;
};
std::vector<std::string> acknowledged_effects_problems(const db_state& db,
                                                       const std::vector<exchange_record>& records,
                                                       ack_check_counts* checked = nullptr);

// GET /orders/{id} for every order of the database: 200 with the row's status, filled
// quantity, price, quantity, side and sequence. Also for the refused orders of `records`:
// 404. This is how the daemon's recovered state is compared to the committed one.
std::vector<std::string> served_orders_problems(e2e::http_client& http, const db_state& db,
                                                const std::vector<exchange_record>& records);

// The book of GET /orderbook?levels=1000 equals the book SQL aggregates from the open
// orders and the book of the reference replay of the whole history (which must itself
// agree with every order row and trade row). Adds gtest failures; `what` names the moment.
void expect_books_agree(e2e::http_client& http, const std::string& conninfo, const db_state& db,
                        const std::string& what);

// Everything (a) and (b) check after load: acknowledged effects, fill bookkeeping, the
// served orders and the books. Loads the database state itself; returns it for further use.
db_state expect_durable_and_consistent(e2e::http_client& http, const std::string& conninfo,
                                       const std::vector<exchange_record>& records,
                                       const std::string& what);

// New orders keep working on top of `before`: a crossing pair trades with trade ids above
// before.max_trade_id and sequences above before.max_sequence (and increasing), and an
// order resting from before is cancelled, in the book and in its row (the writer updates
// orders it did not create since the restart).
void expect_new_orders_continue(e2e::http_client& http, const std::string& conninfo,
                                const db_state& before, const std::string& id_prefix);

}  // namespace matchd::pgtest
