#pragma once

#include <matchd/analytics/candle.h>
#include <matchd/clearing/position.h>
#include <matchd/engine/instrument.h>
#include <matchd/engine/order.h>

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pqxx {
class transaction_base;
}

namespace matchd::store {

// The journal rows the applier has not turned into table rows yet, folded for recovery: the
// newest state of every order they touch, and their most recent trades. Recovery lays this
// over what the tables hold, so a restart never waits for the tables to catch up with the
// journal, however far they trail it.
class journal_backlog {
 public:
  // An empty backlog over tables that hold everything up to `applied`.
  journal_backlog(engine::sequence_number applied, std::size_t instruments,
                  std::size_t trades_per_instrument);

  // Reads every journal row after journal_progress.applied_sequence, in `tx`'s snapshot
  // (which must also be the one the tables are read in), keeping up to
  // `trades_per_instrument` trades of each instrument. Throws journal_error on a body this
  // build cannot read.
  static journal_backlog read(pqxx::transaction_base& tx,
                              const std::vector<engine::instrument>& instruments,
                              std::size_t trades_per_instrument);

  // Folds one body's records in (sequence order across calls). `read` uses it; tests too.
  void add_body(std::string_view body, const std::vector<engine::instrument>& instruments);

  [[nodiscard]] engine::sequence_number applied_sequence() const noexcept { return applied_; }
  [[nodiscard]] std::size_t rows() const noexcept { return rows_; }
  [[nodiscard]] std::size_t orders() const noexcept { return latest_.size(); }

  // The newest state of an order the tables hold, if the backlog changed it; it leaves the
  // backlog.
  std::optional<engine::order> take(std::string_view order_id);
  // The orders created in the backlog (after applied_sequence), oldest first; they leave it.
  std::vector<engine::order> take_created();
  // Throws std::runtime_error when an order created before applied_sequence is left: the
  // backlog changed it, but the tables never had it, so they lack history the journal says
  // existed.
  void expect_all_taken() const;

  // The client_order_id the backlog holds for an order (placed in it), or empty.
  [[nodiscard]] std::string_view label(std::string_view order_id) const;

  // The instrument's most recent trades in the backlog, oldest first.
  [[nodiscard]] const std::deque<engine::trade>& trades(engine::instrument_id i) const;
  // All of the instrument's trades in the backlog, summed per second (1 s buckets), oldest
  // first: what the candles table does not hold yet.
  [[nodiscard]] const std::vector<analytics::candle>& seconds(engine::instrument_id i) const;

  // Every side of every trade in the backlog, in trade order, with its client: what the
  // positions table does not hold yet.
  struct client_fill {
    engine::client_id client;
    engine::instrument_id instrument = 0;
    clearing::fill fill;
  };
  [[nodiscard]] const std::vector<client_fill>& fills() const noexcept { return fills_; }

 private:
  engine::sequence_number applied_;
  std::size_t trades_per_instrument_;
  std::size_t rows_ = 0;
  struct id_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view id) const noexcept {
      return std::hash<std::string_view>{}(id);
    }
  };
  boost::unordered_flat_map<std::string, engine::order, id_hash, std::equal_to<>> latest_;
  boost::unordered_flat_map<std::string, engine::order_label, id_hash, std::equal_to<>> labels_;
  std::vector<std::deque<engine::trade>> trades_;
  std::vector<std::vector<analytics::candle>> seconds_;
  std::vector<client_fill> fills_;
};

}  // namespace matchd::store
