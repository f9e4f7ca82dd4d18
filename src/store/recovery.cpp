#include <matchd/codec/instrument_json.h>
#include <matchd/store/journal_backlog.h>
#include <matchd/store/market_history.h>
#include <matchd/store/positions.h>
#include <matchd/store/recovery.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <stdexcept>

#include "order_columns.h"

namespace matchd::store {

namespace {

// libpqxx 6.4 has no field::view().
std::string_view sv(const pqxx::field& f) {
  return {f.c_str(), f.size()};
}

engine::side parse_side(std::string_view s) {
  return s == "buy" ? engine::side::buy : engine::side::sell;
}

engine::order_status parse_status(std::string_view s) {
  if (s == "open") return engine::order_status::open;
  if (s == "partially_filled") return engine::order_status::partially_filled;
  if (s == "filled") return engine::order_status::filled;
  if (s == "cancelled") return engine::order_status::cancelled;
  return engine::order_status::rejected;
}

engine::time_in_force parse_tif(std::string_view s) {
  if (s == "ioc") return engine::time_in_force::ioc;
  if (s == "fok") return engine::time_in_force::fok;
  return engine::time_in_force::gtc;
}

[[noreturn]] void bad_value(std::string_view what, std::string_view text) {
  throw std::runtime_error("unreadable " + std::string(what) + " '" + std::string(text) +
                           "' in the orders table");
}

// A boolean column as PostgreSQL prints it.
bool parse_flag(std::string_view s, std::string_view what) {
  if (s == "t") return true;
  if (s != "f") bad_value(what, s);
  return false;
}

std::int64_t parse_int64(std::string_view s, std::string_view what) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) bad_value(what, s);
  return v;
}

// notional is numeric: the writer stores integers, but PostgreSQL may print a scale
// ("123.000") after arithmetic, so zero fractional digits are accepted and anything else
// refused rather than misread.
engine::int128 parse_notional(std::string_view s) {
  std::size_t i = 0;
  const bool negative = !s.empty() && s[0] == '-';
  if (negative) ++i;
  if (i == s.size()) bad_value("notional", s);
  engine::int128 v = 0;
  for (; i < s.size() && s[i] != '.'; ++i) {
    if (s[i] < '0' || s[i] > '9') bad_value("notional", s);
    v = v * 10 + (s[i] - '0');
  }
  for (std::size_t j = i + 1; j < s.size(); ++j) {
    if (s[j] != '0') bad_value("notional", s);
  }
  return negative ? -v : v;
}

class instrument_index {
 public:
  explicit instrument_index(const std::vector<engine::instrument>& instruments)
      : instruments_(instruments) {}
  engine::instrument_id operator()(std::string_view symbol) const {
    if (const auto id = engine::find_instrument(instruments_, symbol)) return *id;
    throw std::runtime_error("the database holds orders of instrument " + std::string(symbol) +
                             ", which is not configured (--instrument)");
  }

 private:
  const std::vector<engine::instrument>& instruments_;
};

constexpr const char* kResting = "status IN ('open', 'partially_filled')";

// One COPY text line split into its columns, in place. The columns read here are ids of
// [A-Za-z0-9._:-], fixed words and numbers, none of which COPY escapes; a backslash means
// the data is not what the writer stores, so it is refused rather than guessed at.
class copy_line_fields {
 public:
  void split(std::string_view line) {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    std::size_t count = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= line.size(); ++i) {
      if (i < line.size() && line[i] != '\t') continue;
      if (count == kOrderColumnCount) bad_value("row", line);
      fields_[count++] = line.substr(start, i - start);
      start = i + 1;
    }
    if (count != kOrderColumnCount || line.find('\\') != std::string_view::npos) {
      bad_value("row", line);
    }
  }
  std::string_view operator[](std::size_t i) const { return fields_[i]; }
  const order_fields& all() const { return fields_; }

 private:
  order_fields fields_{};
};

// Streams the orders a query selects, one at a time, to `deliver`. COPY keeps memory flat
// and lets PostgreSQL produce rows while this thread parses them, where a plain SELECT
// would first materialize every row (about 150 bytes each as text) on the client.
//
// libpqxx 6.4's stream_from takes a table name and pastes it unquoted into
// "COPY <name> TO STDOUT"; a parenthesised query is valid there and is what PostgreSQL
// documents for COPY TO. (libpqxx 7 names this stream_from::query.)
template <class Deliver>
void stream_orders(pqxx::transaction_base& tx, const std::string& query,
                   const instrument_index& index, Deliver&& deliver) {
  pqxx::stream_from rows(tx, "(" + query + ")");
  std::string line;
  copy_line_fields fields;
  while (rows.get_raw_line(line)) {
    fields.split(line);
    deliver(order_from_fields(fields.all(), index(fields[2])), label_from_fields(fields.all()));
  }
  rows.complete();
}

// The orders recovery will read from the tables: the open ones and those finished within
// the horizon, counted through the two partial indexes that hold them (orders_resting,
// orders_finished), so the count follows the horizon, not the history.
std::size_t retained_order_count(pqxx::transaction_base& tx, const std::string& since) {
  const auto row = tx.exec1(std::string("SELECT (SELECT count(*) FROM orders WHERE ") + kResting +
                            ") + (SELECT count(*) FROM orders WHERE NOT (" + kResting +
                            ") AND updated_at_us >= " + since + ")");
  return static_cast<std::size_t>(row[0].as<long long>());
}

}  // namespace

engine::order order_from_fields(const order_fields& f, engine::instrument_id instrument) {
  engine::order o;
  o.id = engine::order_id::from(f[0]);
  o.client = engine::client_id::from(f[1]);
  o.instrument = instrument;
  o.order_side = parse_side(f[3]);
  o.type = f[4] == "market" ? engine::order_type::market : engine::order_type::limit;
  o.tif = parse_tif(f[5]);
  o.status = parse_status(f[6]);
  o.price = engine::price_ticks{parse_int64(f[7], "price_ticks")};
  o.quantity = engine::quantity_lots{parse_int64(f[8], "quantity_lots")};
  o.filled = engine::quantity_lots{parse_int64(f[9], "filled_lots")};
  o.notional = parse_notional(f[10]);
  o.created_at = parse_int64(f[11], "created_at_us");
  o.updated_at = parse_int64(f[12], "updated_at_us");
  o.created_sequence = static_cast<engine::sequence_number>(parse_int64(f[13], "created_sequence"));
  o.sequence = static_cast<engine::sequence_number>(parse_int64(f[14], "sequence"));
  if (!f[15].empty()) {
    const std::optional<engine::key_id> key = engine::parse_key_id(f[15]);
    if (!key) bad_value("key_id", f[15]);
    o.key = *key;
  }
  if (!f[16].empty() && !engine::parse_end_reason(f[16], o.reason)) bad_value("reason", f[16]);
  if (!engine::parse_stp_mode(f[17], o.stp)) bad_value("stp", f[17]);
  o.post_only = parse_flag(f[18], "post_only");
  o.amended = parse_flag(f[19], "amended");
  o.stop_price = engine::price_ticks{parse_int64(f[21], "stop_price_ticks")};
  o.triggered = parse_flag(f[22], "triggered");
  return o;
}

std::vector<engine::instrument> read_added_instruments(const std::string& conninfo) {
  pqxx::connection c(conninfo);
  pqxx::nontransaction tx(c);
  return read_added_instruments(tx);
}

std::vector<engine::instrument> read_added_instruments(pqxx::transaction_base& tx) {
  std::vector<engine::instrument> added;
  for (const auto& row : tx.exec("SELECT symbol, definition FROM instruments ORDER BY sequence")) {
    engine::instrument ins;
    if (codec::parse_instrument_request(sv(row[1]), ins) || ins.symbol != sv(row[0])) {
      std::string problem = "unreadable definition of instrument ";
      problem += sv(row[0]);
      problem += " in the instruments table";
      throw std::runtime_error(problem);
    }
    added.push_back(std::move(ins));
  }
  return added;
}

std::string_view label_from_fields(const order_fields& f) {
  if (!f[20].empty() && !engine::valid_client_order_id(f[20])) bad_value("client_order_id", f[20]);
  return f[20];
}

recovery_report recover(const std::string& conninfo,
                        const std::vector<engine::instrument>& instruments,
                        std::size_t recent_trades_per_instrument, recovery_sink& sink,
                        engine::timestamp_us retained_since) {
  const auto started = std::chrono::steady_clock::now();
  recovery_report report;
  const instrument_index index(instruments);
  pqxx::connection c(conninfo);
  pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> tx(
      c);

  // The journal rows the tables do not hold yet, read in the same snapshot: their order
  // states replace the tables' and their orders follow the tables' ones.
  journal_backlog backlog = journal_backlog::read(tx, instruments, recent_trades_per_instrument);
  report.journal_rows = backlog.rows();
  report.journal_orders = backlog.orders();
  const std::string since = std::to_string(retained_since);
  sink.expected_orders(retained_order_count(tx, since) + backlog.orders());

  // Resting orders in priority order: created_sequence is arrival order, and within a
  // price level the engine keeps arrival order. The orders_resting index holds them by
  // (instrument, created_sequence), so PostgreSQL walks it instead of sorting every
  // resting order (on disk, beyond work_mem). Orders created in the backlog come after all
  // of them (their created_sequence is larger); orders the backlog finished are delivered
  // with the finished ones.
  // An order's client_order_id is in its table row, or in the backlog when it was placed
  // there (the engine's order does not hold it).
  struct labelled {
    engine::order order;
    std::string label;
  };
  std::vector<labelled> finished_in_backlog;
  std::vector<labelled> moved_in_backlog;
  const auto deliver = [&](const engine::order& o, std::string_view label) {
    if (engine::is_final(o.status)) {
      if (o.updated_at < retained_since) return;  // history, past the horizon
      sink.finished_order(o);
      ++report.finished_orders;
    } else {
      sink.resting_order(o);
      ++report.resting_orders;
    }
    if (!label.empty()) sink.order_label(o.id, label);
  };
  stream_orders(tx,
                std::string("SELECT ") + kOrderColumns + " FROM orders WHERE " + kResting +
                    " ORDER BY instrument, created_sequence",
                index, [&](const engine::order& table_state, std::string_view label) {
                  if (auto newer = backlog.take(table_state.id.view())) {
                    if (engine::is_final(newer->status)) {
                      finished_in_backlog.push_back({*newer, std::string(label)});
                      return;
                    }
                    if (newer->created_sequence != table_state.created_sequence) {
                      // Amended to the back of a level in the backlog: its place is
                      // after every table row, among the backlog's own orders.
                      moved_in_backlog.push_back({*newer, std::string(label)});
                      return;
                    }
                    return deliver(*newer, label);
                  }
                  deliver(table_state, label);
                });
  std::vector<labelled> created;
  for (const engine::order& o : backlog.take_created()) {
    created.push_back({o, std::string(backlog.label(o.id.view()))});
  }
  created.insert(created.end(), moved_in_backlog.begin(), moved_in_backlog.end());
  std::sort(created.begin(), created.end(), [](const labelled& a, const labelled& b) {
    return a.order.created_sequence < b.order.created_sequence;
  });
  for (const labelled& n : created) {
    if (!engine::is_final(n.order.status)) deliver(n.order, n.label);
  }
  // Through the orders_finished index (sql/004_retention.sql): only the horizon's rows.
  stream_orders(tx,
                std::string("SELECT ") + kOrderColumns + " FROM orders WHERE NOT (" + kResting +
                    ") AND updated_at_us >= " + since + " ORDER BY updated_at_us",
                index, [&](const engine::order& table_state, std::string_view label) {
                  deliver(backlog.take(table_state.id.view()).value_or(table_state), label);
                });
  backlog.expect_all_taken();
  for (const labelled& f : finished_in_backlog) deliver(f.order, f.label);
  for (const labelled& n : created) {
    if (engine::is_final(n.order.status)) deliver(n.order, n.label);
  }

  // Oldest first, so each stage's expiry queue is in order; a key used again after the
  // horizon comes after its older use and replaces it.
  for (const auto& row : tx.exec("SELECT client_id, idempotency_key, fingerprint, sequence,"
                                 " created_at_us, response FROM idempotency_keys"
                                 " WHERE created_at_us >= " +
                                 since + " ORDER BY created_at_us, sequence")) {
    sink.idempotency_key(engine::client_id::from(sv(row[0])), sv(row[1]),
                         static_cast<std::uint64_t>(row[2].as<long long>()),
                         static_cast<engine::sequence_number>(row[3].as<long long>()),
                         row[4].as<long long>(), row[5].as<std::string>());
    ++report.idempotency_keys;
  }
  for (engine::instrument_id i = 0; i < instruments.size(); ++i) {
    const std::string& symbol = instruments[i].symbol;
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// GCC 12 at -O3 reports a bogus -Wrestrict inside libstdc++'s `"literal" + std::string&&`,
// which libpqxx's quote() uses (GCC bug 105651; Debian 12 ships GCC 12.2).
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
    const auto rows = tx.exec(
        "SELECT trade_id, price_ticks, quantity_lots, aggressor_side, buy_order_id,"
        " sell_order_id, executed_at_us, sequence, maker_fee, taker_fee FROM ("
        " SELECT * FROM trades WHERE instrument = " +
        tx.quote(symbol) + " ORDER BY trade_id DESC LIMIT " +
        std::to_string(recent_trades_per_instrument) + ") recent ORDER BY trade_id");
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
    // The most recent ones of the tables' and then the backlog's.
    const std::deque<engine::trade>& newer = backlog.trades(i);
    const std::size_t total = rows.size() + newer.size();
    std::size_t skip =
        total > recent_trades_per_instrument ? total - recent_trades_per_instrument : 0;
    for (const auto& row : rows) {
      if (skip > 0) {
        --skip;
        continue;
      }
      engine::trade t;
      t.id = static_cast<engine::trade_id>(row[0].as<long long>());
      t.instrument = i;
      t.price = engine::price_ticks{row[1].as<long long>()};
      t.quantity = engine::quantity_lots{row[2].as<long long>()};
      t.aggressor = parse_side(sv(row[3]));
      t.buy_order_id = engine::order_id::from(sv(row[4]));
      t.sell_order_id = engine::order_id::from(sv(row[5]));
      t.executed_at = row[6].as<long long>();
      t.sequence = static_cast<engine::sequence_number>(row[7].as<long long>());
      t.maker_fee = row[8].as<long long>();
      t.taker_fee = row[9].as<long long>();
      sink.recent_trade(t);
      ++report.recent_trades;
    }
    for (const engine::trade& t : newer) {
      if (skip > 0) {
        --skip;
        continue;
      }
      sink.recent_trade(t);
      ++report.recent_trades;
    }
  }
  const engine::timestamp_us now = std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count();
  for (engine::instrument_id i = 0; i < instruments.size(); ++i) {
    read_live_candles(tx, instruments[i].symbol, now,
                      [&](analytics::interval iv, const analytics::candle& candle) {
                        sink.live_candle(i, iv, candle, now);
                        ++report.live_candles;
                      });
    for (const analytics::candle& second : backlog.seconds(i)) {
      sink.backlog_second(i, second);
      ++report.live_candles;
    }
  }
  // Positions: the table's rows (complete_positions ran before), then the backlog's fills in
  // trade order, so the two never count a trade twice (the table holds the applied trades
  // only).
  {
    std::map<std::pair<std::string, engine::instrument_id>, clearing::position> positions;
    read_positions(
        tx, instruments,
        [&](std::string_view client, engine::instrument_id i, const clearing::position& p) {
          positions[{std::string(client), i}] = p;
        });
    for (const journal_backlog::client_fill& f : backlog.fills()) {
      positions[{std::string(f.client.view()), f.instrument}].apply(
          f.fill, clearing::quote_scale::of(instruments[f.instrument]));
    }
    for (const auto& [key, p] : positions) {
      sink.position(engine::client_id::from(key.first), key.second, p);
      ++report.positions;
    }
  }
  // Halted instruments: a status row of an instrument no longer configured is ignored.
  for (const auto& row :
       tx.exec("SELECT symbol FROM instrument_status WHERE status = 'halted' ORDER BY symbol")) {
    if (const auto id = engine::find_instrument(instruments, sv(row[0]))) {
      sink.instrument_halted(*id);
      ++report.halted_instruments;
    }
  }
  if (const auto cutoff = tx.exec1("SELECT max(cutoff_us) FROM settlements")[0];
      !cutoff.is_null()) {
    sink.clock_floor(cutoff.as<engine::timestamp_us>());
  }
  const auto progress = tx.exec1("SELECT last_sequence, last_trade_id FROM engine_progress");
  report.last_sequence = static_cast<engine::sequence_number>(progress[0].as<long long>());
  report.last_trade_id = static_cast<engine::trade_id>(progress[1].as<long long>());
  sink.counters(report.last_sequence, report.last_trade_id);
  tx.commit();
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace matchd::store