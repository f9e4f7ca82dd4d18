#pragma once

#include <matchd/clearing/position.h>
#include <matchd/engine/types.h>

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstddef>
#include <optional>
#include <vector>

namespace matchd::clearing {

// Where unrealized PnL is marked: a price per instrument in price units, or none yet. The
// last trade price is the default (last_trade_marks); an index price from other venues can
// take its place behind the same interface.
class mark_source {
 public:
  virtual ~mark_source() = default;
  virtual std::optional<std::int64_t> mark(engine::instrument_id instrument) const = 0;
};

// Marks at the last trade of each instrument, told by the owner as trades are cleared.
class last_trade_marks final : public mark_source {
 public:
  void trade(engine::instrument_id instrument, std::int64_t price_units) {
    if (instrument >= marks_.size()) marks_.resize(instrument + 1, 0);
    marks_[instrument] = price_units;
  }
  std::optional<std::int64_t> mark(engine::instrument_id instrument) const override {
    if (instrument >= marks_.size() || marks_[instrument] == 0) return std::nullopt;
    return marks_[instrument];
  }

 private:
  std::vector<std::int64_t> marks_;  // 0: no trade yet
};

// Every client's positions, by client then instrument: what GET /positions and the
// positions channel read. Not thread-safe: one owner (the publish stage) applies and reads.
class position_book {
 public:
  struct held {
    engine::instrument_id instrument = 0;
    position pos;
  };

  // Applies one side of a trade to `client`'s position in `instrument` and returns it.
  const position& apply(const engine::client_id& client, engine::instrument_id instrument,
                        const fill& f, const quote_scale& scale);
  // Recovery: the position as the tables and the journal left it.
  void seed(const engine::client_id& client, engine::instrument_id instrument, const position& p);

  // The client's positions in instrument order (flat ones included: their realized PnL and
  // fees are history the client keeps); empty for a client that never traded.
  const std::vector<held>& of(const engine::client_id& client) const;
  // One position, or null.
  const position* find(const engine::client_id& client, engine::instrument_id instrument) const;
  std::size_t clients() const noexcept { return clients_.size(); }

 private:
  position& at(const engine::client_id& client, engine::instrument_id instrument);

  boost::unordered_flat_map<engine::client_id, std::vector<held>> clients_;
};

}  // namespace matchd::clearing
