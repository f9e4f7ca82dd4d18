#pragma once

#include <matchd/codec/json_writer.h>
#include <matchd/engine/instrument.h>
#include <matchd/engine/order.h>
#include <matchd/engine/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace matchd::codec {

// Engine values -> the API's JSON objects (docs/api.md), compact, keys in the order the
// API lists them. Prices and quantities are decimal strings at the instrument's precision
// ("70150.50", "0.25000000"), timestamps RFC 3339 UTC with microseconds, sequences JSON
// numbers, trade ids strings. Each function appends one value: the json_writer forms
// compose inside larger documents, the std::string forms write a standalone value.
// No allocation beyond the output string's growth.

// {"order_id","client_id","client_order_id","key_id","instrument","side","type",
//  "time_in_force","post_only","stp","price","stop_price","triggered","quantity",
//  "filled_quantity","remaining_quantity","average_fill_price","status","reason",
//  "created_at","updated_at","sequence"}
// key_id is the placing key's 16 hex digits, null when none placed it (--auth none);
// price is null for market orders; type is "stop_market" or "stop_limit" for a stop order,
// whose stop_price and triggered are set (null for other orders); average_fill_price is null until
// something filled, then the volume-weighted average rounded half away from zero to the price
// precision. remaining_quantity is quantity - filled, also for finished orders (a cancelled order
// shows what was left).
// `client_order_id`: the order's label, kept beside it (bus::command_outcome, the publish
// stage's order view); empty writes null.
void append_order(json_writer& w, const engine::order& o, const engine::instrument& ins,
                  std::string_view client_order_id = {});
void append_order(std::string& out, const engine::order& o, const engine::instrument& ins,
                  std::string_view client_order_id = {});

// {"trade_id" (string),"instrument","buy_order_id","sell_order_id","price","quantity",
//  "aggressor_side","timestamp","sequence"}. The counterparties' client ids are not sent.
void append_trade(json_writer& w, const engine::trade& t, const engine::instrument& ins);
void append_trade(std::string& out, const engine::trade& t, const engine::instrument& ins);

// {"channel":"trades","instrument":"BTC-USD","sequence":1042,"data":<data>}: one event as
// the WebSocket stream carries it (and the event export publishes it).
std::string stream_frame(std::string_view channel, std::string_view instrument,
                         engine::sequence_number seq, std::string_view data);

// {"side","price","quantity","orders"}: the new total at the level. A removed level has
// quantity zero, written in canonical precision ("0.00000000") and orders 0.
void append_level_delta(json_writer& w, const engine::level_delta& d,
                        const engine::instrument& ins);
void append_level_delta(std::string& out, const engine::level_delta& d,
                        const engine::instrument& ins);

struct book_level {
  engine::price_ticks price;
  engine::quantity_lots quantity;
  std::uint32_t orders = 0;
};

// {"instrument","sequence","timestamp","bids":[...],"asks":[...]} with each level
// {"price","quantity","orders","cumulative_quantity"}. Levels must come best first (bids
// highest, asks lowest) and non-empty, as order_book::for_each_level yields them; the
// cumulative quantity is the running total from the best level.
void append_orderbook(json_writer& w, const engine::instrument& ins,
                      engine::sequence_number sequence, engine::timestamp_us timestamp,
                      std::span<const book_level> bids, std::span<const book_level> asks);
void append_orderbook(std::string& out, const engine::instrument& ins,
                      engine::sequence_number sequence, engine::timestamp_us timestamp,
                      std::span<const book_level> bids, std::span<const book_level> asks);

}  // namespace matchd::codec
