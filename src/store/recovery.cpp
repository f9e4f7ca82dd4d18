#include <matchd/store/recovery.h>

#include <chrono>
#include <stdexcept>

#include <pqxx/pqxx>

namespace matchd::store {

namespace {

// libpqxx 6.4 has no field::view().
std::string_view sv(const pqxx::field& f) { return {f.c_str(), f.size()}; }

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

engine::int128 parse_int128(std::string_view s) {
  engine::int128 v = 0;
  bool negative = false;
  for (char c : s) {
    if (c == '-') {
      negative = true;
    } else if (c >= '0' && c <= '9') {
      v = v * 10 + (c - '0');
    }
  }
  return negative ? -v : v;
}

class instrument_index {
 public:
  explicit instrument_index(const std::vector<engine::instrument>& instruments)
      : instruments_(instruments) {}
  engine::instrument_id operator()(std::string_view symbol) const {
    for (std::size_t i = 0; i < instruments_.size(); ++i) {
      if (instruments_[i].symbol == symbol) return static_cast<engine::instrument_id>(i);
    }
    throw std::runtime_error("the database holds orders of instrument " + std::string(symbol) +
                             ", which is not configured (--instrument)");
  }

 private:
  const std::vector<engine::instrument>& instruments_;
};

constexpr const char* kOrderSelect =
    "SELECT order_id, client_id, instrument, side, type, time_in_force, status, price_ticks,"
    " quantity_lots, filled_lots, notional, created_at_us, updated_at_us, created_sequence,"
    " sequence FROM orders ";

engine::order order_from_row(const pqxx::row& r, const instrument_index& index) {
  engine::order o;
  o.id = engine::order_id::from(sv(r[0]));
  o.client = engine::client_id::from(sv(r[1]));
  o.instrument = index(sv(r[2]));
  o.order_side = parse_side(sv(r[3]));
  o.type = sv(r[4]) == "market" ? engine::order_type::market : engine::order_type::limit;
  o.tif = parse_tif(sv(r[5]));
  o.status = parse_status(sv(r[6]));
  o.price = engine::price_ticks{r[7].as<long long>()};
  o.quantity = engine::quantity_lots{r[8].as<long long>()};
  o.filled = engine::quantity_lots{r[9].as<long long>()};
  o.notional = parse_int128(sv(r[10]));
  o.created_at = r[11].as<long long>();
  o.updated_at = r[12].as<long long>();
  o.created_sequence = static_cast<engine::sequence_number>(r[13].as<long long>());
  o.sequence = static_cast<engine::sequence_number>(r[14].as<long long>());
  return o;
}

}  // namespace

recovery_report recover(const std::string& conninfo,
                        const std::vector<engine::instrument>& instruments,
                        std::size_t recent_trades_per_instrument, recovery_sink& sink) {
  const auto started = std::chrono::steady_clock::now();
  recovery_report report;
  const instrument_index index(instruments);
  pqxx::connection c(conninfo);
  pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> tx(c);

  // Resting orders in priority order: created_sequence is arrival order, and within a
  // price level the engine keeps arrival order.
  for (const auto& row : tx.exec(std::string(kOrderSelect) +
                                 "WHERE status IN ('open', 'partially_filled') "
                                 "ORDER BY created_sequence")) {
    sink.resting_order(order_from_row(row, index));
    ++report.resting_orders;
  }
  for (const auto& row : tx.exec(std::string(kOrderSelect) +
                                 "WHERE status NOT IN ('open', 'partially_filled')")) {
    sink.finished_order(order_from_row(row, index));
    ++report.finished_orders;
  }
  for (const auto& row : tx.exec("SELECT client_id, idempotency_key, fingerprint, sequence,"
                                 " response FROM idempotency_keys")) {
    sink.idempotency_key(engine::client_id::from(sv(row[0])), sv(row[1]),
                         static_cast<std::uint64_t>(row[2].as<long long>()),
                         static_cast<engine::sequence_number>(row[3].as<long long>()),
                         row[4].as<std::string>());
    ++report.idempotency_keys;
  }
  for (const auto& ins : instruments) {
    const auto rows = tx.exec(
        "SELECT trade_id, price_ticks, quantity_lots, aggressor_side, buy_order_id,"
        " sell_order_id, buy_client_id, sell_client_id, executed_at_us, sequence FROM ("
        " SELECT * FROM trades WHERE instrument = " + tx.quote(ins.symbol) +
        " ORDER BY trade_id DESC LIMIT " + std::to_string(recent_trades_per_instrument) +
        ") recent ORDER BY trade_id");
    for (const auto& row : rows) {
      engine::trade t;
      t.id = static_cast<engine::trade_id>(row[0].as<long long>());
      t.instrument = index(ins.symbol);
      t.price = engine::price_ticks{row[1].as<long long>()};
      t.quantity = engine::quantity_lots{row[2].as<long long>()};
      t.aggressor = parse_side(sv(row[3]));
      t.buy_order_id = engine::order_id::from(sv(row[4]));
      t.sell_order_id = engine::order_id::from(sv(row[5]));
      t.buy_client = engine::client_id::from(sv(row[6]));
      t.sell_client = engine::client_id::from(sv(row[7]));
      t.executed_at = row[8].as<long long>();
      t.sequence = static_cast<engine::sequence_number>(row[9].as<long long>());
      sink.recent_trade(t);
      ++report.recent_trades;
    }
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
