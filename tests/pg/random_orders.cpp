#include "random_orders.h"

#include <matchd/engine/decimal.h>
#include <matchd/engine/event.h>

#include <algorithm>
#include <random>
#include <string>
#include <variant>

#include "table_writer.h"

namespace matchd::pgtest {

std::vector<engine::instrument> two_instruments() {
  engine::instrument eth = engine::instrument::btc_usd();
  eth.symbol = "ETH-USD";
  eth.tick_units = 5;  // 0.05
  eth.lot_units = 1000;
  return {engine::instrument::btc_usd(), eth};
}

std::string integer_text(engine::int128 v) {
  char buf[engine::kMaxFormattedDecimal];
  return std::string(buf, engine::format_decimal_wide(v, 0, buf));
}

void run_random_orders(pqxx::connection& c, const std::vector<engine::instrument>& ins,
                       const random_run& run) {
  std::mt19937_64 rng(1206);
  engine::matching_engine engine(ins, run.engine);
  engine::event_buffer chunk;
  engine::event_buffer out;
  engine::sequence_number written_up_to = 0;
  std::size_t commands_in_chunk = 0;
  std::size_t chunk_size = 1;
  const auto flush = [&] {
    pqxx::work tx(c);
    store::write_tables(tx, chunk, written_up_to, ins);
    tx.commit();
    for (const engine::event& e : chunk) {
      written_up_to =
          std::max(written_up_to, std::visit([](const auto& x) { return x.sequence; }, e));
    }
    chunk.clear();
    commands_in_chunk = 0;
    chunk_size = 1 + rng() % 400;
    if (run.after_flush) run.after_flush();
  };
  const auto step_us = static_cast<std::uint64_t>(run.step_us);
  for (int n = 0; n < run.orders; ++n) {
    engine::place_order o;
    o.id = engine::order_id::from("o-" + std::to_string(n));
    o.client =
        engine::client_id::from("c-" + std::to_string(rng() % static_cast<unsigned>(run.clients)));
    o.instrument = static_cast<engine::instrument_id>(rng() % ins.size());
    o.order_side = rng() % 2 == 0 ? engine::side::buy : engine::side::sell;
    o.type = rng() % 10 == 0 ? engine::order_type::market : engine::order_type::limit;
    if (o.type == engine::order_type::limit) {
      o.price = engine::price_ticks(7'000'000 + static_cast<std::int64_t>(rng() % 41) - 20);
    }
    o.quantity = engine::quantity_lots(1 + static_cast<std::int64_t>(rng() % 5'000'000));
    o.stp = engine::stp_mode::none;
    std::int64_t at = kStartUs + n * run.step_us + static_cast<std::int64_t>(rng() % step_us);
    if (n % 97 == 0) at = at / (60 * kSecondUs) * (60 * kSecondUs);  // on a minute's edge
    if (n % 10 == 3) at -= static_cast<std::int64_t>(rng() % (2 * kSecondUs));
    o.received_at = at;
    out.clear();
    engine.place(o, out);
    chunk.insert(chunk.end(), out.begin(), out.end());
    if (++commands_in_chunk == chunk_size) flush();
  }
  if (!chunk.empty()) flush();
}

}  // namespace matchd::pgtest
