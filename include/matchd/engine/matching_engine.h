#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include <matchd/engine/command.h>
#include <matchd/engine/errc.h>
#include <matchd/engine/event.h>
#include <matchd/engine/instrument.h>
#include <matchd/engine/order_book.h>

namespace matchd::engine {

struct engine_options {
  std::size_t expected_orders_per_book = 1 << 16;  // preallocated pool size per book
  std::size_t max_open_orders_per_book = 5'000'000;  // keeps level totals in int64
};

struct command_result {
  errc error = errc::ok;
  sequence_number sequence = 0;  // assigned to every command that changed something

  constexpr bool ok() const noexcept { return error == errc::ok; }
};

// Where the engine stands on an order id.
enum class order_presence : std::uint8_t { unknown, resting, finished };

// All books, the order-id index and the global counters. Every command that changes
// something gets the next sequence number; trade ids increase by one per trade.
//
// Not thread-safe: one engine thread owns it; other threads only see its events.
class matching_engine {
 public:
  explicit matching_engine(std::vector<instrument> instruments, engine_options options = {});
  matching_engine(const matching_engine&) = delete;
  matching_engine& operator=(const matching_engine&) = delete;

  // Appends the command's events to `out`. On error nothing changed and nothing is
  // appended. A FOK order that cannot fill is not an error: it is created `rejected`.
  command_result place(const place_order& cmd, event_buffer& out);
  command_result cancel(const cancel_order& cmd, event_buffer& out);

  // Recovery: resting orders in their original priority order (created_sequence
  // ascending), the ids of finished orders, then the counters.
  errc restore_resting(const order& o);
  void restore_finished_id(std::string_view id);
  void restore_counters(sequence_number last_sequence, trade_id last_trade_id);

  const std::vector<instrument>& instruments() const { return instruments_; }
  std::optional<instrument_id> find_instrument(std::string_view symbol) const;
  const order_book& book(instrument_id id) const { return *books_[id]; }

  order_presence presence(std::string_view id) const;
  const order* find_resting(std::string_view id) const;

  sequence_number last_sequence() const { return sequence_; }
  trade_id last_trade_id() const { return next_trade_id_ - 1; }

  // Book invariants plus the id index agreeing with the books. Empty when they hold.
  std::string check_invariants() const;

 private:
  // Where an id points: a resting order's book and node, or a finished order.
  struct id_entry {
    instrument_id instrument;
    order_book::node_index node;
  };
  static constexpr instrument_id kFinished = std::numeric_limits<instrument_id>::max();

  std::string_view intern(std::string_view id);
  void index_events(std::size_t first_event, const event_buffer& out);

  std::vector<instrument> instruments_;
  engine_options options_;
  std::vector<std::unique_ptr<order_book>> books_;
  // Keys point into id_arena_ chunks, which never move or shrink.
  boost::unordered_flat_map<std::string_view, id_entry> ids_;
  std::vector<std::unique_ptr<char[]>> id_arena_;
  std::size_t arena_used_ = 0;
  sequence_number sequence_ = 0;
  trade_id next_trade_id_ = 1;
};

}  // namespace matchd::engine
