#include <gtest/gtest.h>
#include <matchd/store/journal.h>

#include <limits>
#include <string>

namespace matchd::store {
namespace {

std::vector<engine::instrument> two_instruments() {
  engine::instrument eth = engine::instrument::btc_usd();
  eth.symbol = "ETH-USD";
  return {engine::instrument::btc_usd(), eth};
}

engine::order sample_order() {
  engine::order o;
  o.id = engine::order_id::from("order-7");
  o.client = engine::client_id::from("client:a.b_c-d");
  o.instrument = 1;
  o.order_side = engine::side::sell;
  o.type = engine::order_type::limit;
  o.tif = engine::time_in_force::fok;
  o.status = engine::order_status::partially_filled;
  o.price = engine::price_ticks(6'500'012);
  o.quantity = engine::quantity_lots(150'000'000);
  o.filled = engine::quantity_lots(50'000'000);
  // Beyond 64 bits, and negative in its top half's sign: both halves must come back.
  o.notional = engine::int128{std::numeric_limits<std::int64_t>::max()} * 977;
  o.created_at = 1'764'547'200'000'123;
  o.updated_at = 1'764'547'200'000'456;
  o.created_sequence = 41;
  o.sequence = std::numeric_limits<std::uint64_t>::max() - 5;
  o.key = 0xfedc'ba98'7654'3210ULL;
  return o;
}

engine::trade sample_trade() {
  engine::trade t;
  t.id = 9'000'000'001;
  t.instrument = 0;
  t.price = engine::price_ticks(6'500'000);
  t.quantity = engine::quantity_lots(1);
  t.aggressor = engine::side::sell;
  t.buy_order_id = engine::order_id::from(std::string(engine::kMaxIdLength, 'b'));
  t.sell_order_id = engine::order_id::from("s");
  t.executed_at = -1;
  t.sequence = 77;
  t.maker_fee = 1'234'567'890'123;
  t.taker_fee = -2;  // the codec does not judge values, it carries them
  return t;
}

void expect_same(const engine::order& a, const engine::order& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.client, b.client);
  EXPECT_EQ(a.instrument, b.instrument);
  EXPECT_EQ(a.order_side, b.order_side);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.tif, b.tif);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.price, b.price);
  EXPECT_EQ(a.quantity, b.quantity);
  EXPECT_EQ(a.filled, b.filled);
  EXPECT_TRUE(a.notional == b.notional);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.updated_at, b.updated_at);
  EXPECT_EQ(a.created_sequence, b.created_sequence);
  EXPECT_EQ(a.sequence, b.sequence);
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.stp, b.stp);
  EXPECT_EQ(a.post_only, b.post_only);
  EXPECT_EQ(a.amended, b.amended);
  EXPECT_EQ(a.stop_price, b.stop_price);
  EXPECT_EQ(a.triggered, b.triggered);
}

// The option bytes (reason, stp, post_only, amended) and the label (a length byte) that
// format 3 adds after the key, for a sample order without a label.
constexpr std::size_t kOptionBytes = 4 + 1;
// The stop price and the triggered flag that format 4 adds after the label.
constexpr std::size_t kStopBytes = 8 + 1;

TEST(journal, orders_and_trades_come_back_field_for_field_in_their_order) {
  const auto instruments = two_instruments();
  journal_encoder out;
  const engine::order o = sample_order();
  const engine::trade t = sample_trade();
  engine::order market = o;
  market.type = engine::order_type::market;
  market.price = engine::price_ticks(0);
  market.notional = -12;  // the codec does not judge values, it carries them
  out.add(t, "BTC-USD");
  out.add(o, "ETH-USD");
  out.add(market, "ETH-USD");
  EXPECT_EQ(out.records(), 3u);

  engine::event_buffer events;
  decode_journal(out.bytes(), instruments, events);
  ASSERT_EQ(events.size(), 3u);
  const auto* t2 = std::get_if<engine::trade>(&events[0]);
  ASSERT_NE(t2, nullptr);
  EXPECT_EQ(t2->id, t.id);
  EXPECT_EQ(t2->instrument, 0u);
  EXPECT_EQ(t2->price, t.price);
  EXPECT_EQ(t2->quantity, t.quantity);
  EXPECT_EQ(t2->aggressor, t.aggressor);
  EXPECT_EQ(t2->buy_order_id, t.buy_order_id);
  EXPECT_EQ(t2->sell_order_id, t.sell_order_id);
  EXPECT_EQ(t2->executed_at, t.executed_at);
  EXPECT_EQ(t2->sequence, t.sequence);
  EXPECT_EQ(t2->maker_fee, t.maker_fee);
  EXPECT_EQ(t2->taker_fee, t.taker_fee);
  ASSERT_NE(std::get_if<engine::order>(&events[1]), nullptr);
  expect_same(std::get<engine::order>(events[1]), o);
  ASSERT_NE(std::get_if<engine::order>(&events[2]), nullptr);
  expect_same(std::get<engine::order>(events[2]), market);
}

// The placing key's id travels with every order state, so recovery and the applier give it
// back; an order placed without a key comes back without one.
TEST(journal, the_placing_keys_id_comes_back) {
  const auto instruments = two_instruments();
  journal_encoder out;
  engine::order keyed = sample_order();
  keyed.key = 1;
  engine::order unkeyed = sample_order();
  unkeyed.key = 0;
  out.add(keyed, "ETH-USD");
  out.add(unkeyed, "ETH-USD");
  engine::event_buffer events;
  decode_journal(out.bytes(), instruments, events);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(std::get<engine::order>(events[0]).key, 1u);
  EXPECT_EQ(std::get<engine::order>(events[1]).key, 0u);
}

// A journal row written before keys existed (format 1: an order record without the key's 8
// bytes at its end) is still read, after an upgrade, as orders without a key.
TEST(journal, a_body_of_the_format_before_keys_is_read_without_keys) {
  const auto instruments = two_instruments();
  journal_encoder out;
  out.add(sample_order(), "ETH-USD");
  std::string old_body(out.bytes());
  ASSERT_EQ(old_body[0], static_cast<char>(kJournalFormat));
  old_body[0] = static_cast<char>(kJournalFormatWithoutKeys);
  old_body.resize(old_body.size() - 8 - kOptionBytes - kStopBytes);
  engine::event_buffer events;
  decode_journal(old_body, instruments, events);
  ASSERT_EQ(events.size(), 1u);
  engine::order expected = sample_order();
  expected.key = 0;
  expected.stp = engine::stp_mode::none;
  expect_same(std::get<engine::order>(events[0]), expected);
  // And the current format's body cut to that length is refused, not misread.
  std::string cut(out.bytes());
  cut.resize(cut.size() - 8 - kOptionBytes - kStopBytes);
  EXPECT_THROW(decode_journal(cut, instruments, events), journal_error);
}

// The order options travel with every order state; a row of format 2 (before them) is read
// with their defaults, and stp none: those orders were placed before self-trade prevention.
TEST(journal, the_order_options_come_back_and_format_2_reads_without_them) {
  const auto instruments = two_instruments();
  journal_encoder out;
  engine::order o = sample_order();
  o.reason = engine::end_reason::self_trade_prevention;
  o.stp = engine::stp_mode::cancel_both;
  o.post_only = true;
  o.amended = true;
  const std::string label(36, 'L');
  out.add(o, "ETH-USD", label);
  out.add(sample_order(), "ETH-USD");
  engine::event_buffer events;
  std::vector<journal_label> labels;
  decode_journal(out.bytes(), instruments, events, &labels);
  ASSERT_EQ(events.size(), 2u);
  expect_same(std::get<engine::order>(events[0]), o);
  expect_same(std::get<engine::order>(events[1]), sample_order());
  ASSERT_EQ(labels.size(), 1u) << "only the labelled record has one";
  EXPECT_EQ(labels[0].event, 0u);
  EXPECT_EQ(labels[0].client_order_id.view(), label);

  journal_encoder plain;
  plain.add(sample_order(), "ETH-USD");
  std::string v2(plain.bytes());
  v2[0] = static_cast<char>(kJournalFormatWithoutOptions);
  v2.resize(v2.size() - kOptionBytes - kStopBytes);
  engine::event_buffer old;
  decode_journal(v2, instruments, old);
  ASSERT_EQ(old.size(), 1u);
  engine::order expected = sample_order();
  expected.stp = engine::stp_mode::none;
  expect_same(std::get<engine::order>(old[0]), expected);
}

// A stop order's stop price and trigger travel with every state; a row of format 3 (before
// stop orders) is read as orders without a stop.
TEST(journal, a_stops_price_and_trigger_come_back_and_format_3_reads_without_them) {
  const auto instruments = two_instruments();
  journal_encoder out;
  engine::order stop = sample_order();
  stop.stop_price = engine::price_ticks{123'456};
  stop.triggered = true;
  out.add(stop, "ETH-USD", "label-1");
  engine::event_buffer events;
  decode_journal(out.bytes(), instruments, events);
  ASSERT_EQ(events.size(), 1u);
  expect_same(std::get<engine::order>(events[0]), stop);

  journal_encoder plain;
  plain.add(sample_order(), "ETH-USD");
  std::string v3(plain.bytes());
  v3[0] = static_cast<char>(kJournalFormatWithoutStops);
  v3.resize(v3.size() - kStopBytes);
  engine::event_buffer old;
  decode_journal(v3, instruments, old);
  ASSERT_EQ(old.size(), 1u);
  expect_same(std::get<engine::order>(old[0]), sample_order());
}

// A trade's fees travel with it; a row of format 4 (before fees) is read as trades that
// charged none, and its order records as they were.
TEST(journal, a_trades_fees_come_back_and_format_4_reads_trades_without_them) {
  const auto instruments = two_instruments();
  journal_encoder out;
  out.add(sample_trade(), "BTC-USD");
  std::string v4(out.bytes());
  v4[0] = static_cast<char>(kJournalFormatWithoutFees);
  v4.resize(v4.size() - 16);
  journal_encoder orders;
  orders.add(sample_order(), "ETH-USD");
  v4 += orders.bytes().substr(1);
  engine::event_buffer old;
  decode_journal(v4, instruments, old);
  ASSERT_EQ(old.size(), 2u);
  const auto& t = std::get<engine::trade>(old[0]);
  EXPECT_EQ(t.id, sample_trade().id);
  EXPECT_EQ(t.sequence, sample_trade().sequence);
  EXPECT_EQ(t.maker_fee, 0);
  EXPECT_EQ(t.taker_fee, 0);
  expect_same(std::get<engine::order>(old[1]), sample_order());
}

// Level records (format 6, written while events are exported) come back whole and in place
// for the exporter; the readers of orders and trades skip them, labels still pointing at the
// right order.
TEST(journal, level_records_come_back_for_the_exporter_and_are_skipped_by_the_tables) {
  const auto instruments = two_instruments();
  engine::level_delta d;
  d.instrument = 1;
  d.level_side = engine::side::sell;
  d.price = engine::price_ticks(6'500'012);
  d.quantity = engine::quantity_lots(0);
  d.orders = std::numeric_limits<std::uint32_t>::max();
  d.sequence = 1'000'000'007;
  journal_encoder out;
  out.add(sample_trade(), "BTC-USD");
  out.add(d, "ETH-USD");
  out.add(sample_order(), "ETH-USD", "label-1");
  EXPECT_EQ(out.records(), 3u);

  engine::event_buffer all;
  std::vector<journal_label> all_labels;
  decode_journal_events(out.bytes(), instruments, all, &all_labels);
  ASSERT_EQ(all.size(), 3u);
  const auto& back = std::get<engine::level_delta>(all[1]);
  EXPECT_EQ(back.instrument, 1u);
  EXPECT_EQ(back.level_side, engine::side::sell);
  EXPECT_EQ(back.price, d.price);
  EXPECT_EQ(back.quantity, d.quantity);
  EXPECT_EQ(back.orders, d.orders);
  EXPECT_EQ(back.sequence, d.sequence);
  ASSERT_EQ(all_labels.size(), 1u);
  EXPECT_EQ(all_labels[0].event, 2u);

  engine::event_buffer tables;
  std::vector<journal_label> table_labels;
  decode_journal(out.bytes(), instruments, tables, &table_labels);
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_NE(std::get_if<engine::trade>(&tables[0]), nullptr);
  expect_same(std::get<engine::order>(tables[1]), sample_order());
  ASSERT_EQ(table_labels.size(), 1u);
  EXPECT_EQ(table_labels[0].event, 1u);
  EXPECT_EQ(table_labels[0].client_order_id.view(), "label-1");
}

// A format 5 body (before level records) still reads; a level record in one is refused.
TEST(journal, format_5_reads_and_refuses_level_records) {
  const auto instruments = two_instruments();
  journal_encoder out;
  out.add(sample_trade(), "BTC-USD");
  std::string v5(out.bytes());
  v5[0] = static_cast<char>(kJournalFormatWithoutLevels);
  engine::event_buffer events;
  decode_journal_events(v5, instruments, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(std::get<engine::trade>(events[0]).maker_fee, sample_trade().maker_fee);

  journal_encoder levels;
  levels.add(engine::level_delta{}, "BTC-USD");
  std::string bad(levels.bytes());
  bad[0] = static_cast<char>(kJournalFormatWithoutLevels);
  EXPECT_THROW(decode_journal_events(bad, instruments, events), journal_error);
}

TEST(journal, decoding_appends_and_clear_starts_a_new_body) {
  const auto instruments = two_instruments();
  journal_encoder out;
  out.add(sample_order(), "ETH-USD");
  const std::string first(out.bytes());
  out.clear();
  EXPECT_EQ(out.records(), 0u);
  out.add(sample_trade(), "BTC-USD");
  engine::event_buffer events;
  decode_journal(first, instruments, events);
  decode_journal(out.bytes(), instruments, events);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_NE(std::get_if<engine::order>(&events[0]), nullptr);
  EXPECT_NE(std::get_if<engine::trade>(&events[1]), nullptr);

  journal_encoder empty;
  engine::event_buffer none;
  decode_journal(empty.bytes(), instruments, none);
  EXPECT_TRUE(none.empty());
}

TEST(journal, instruments_are_resolved_by_symbol_not_by_position) {
  journal_encoder out;
  out.add(sample_order(), "ETH-USD");
  auto reordered = two_instruments();
  std::swap(reordered[0], reordered[1]);
  engine::event_buffer events;
  decode_journal(out.bytes(), reordered, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(std::get<engine::order>(events[0]).instrument, 0u);

  engine::event_buffer unused;
  const std::vector<engine::instrument> btc_only = {engine::instrument::btc_usd()};
  EXPECT_THROW(decode_journal(out.bytes(), btc_only, unused), journal_error);
}

TEST(journal, every_cut_of_a_body_is_refused) {
  const auto instruments = two_instruments();
  journal_encoder out;
  out.add(sample_order(), "ETH-USD");
  out.add(sample_trade(), "BTC-USD");
  const std::string body(out.bytes());
  // Cuts that end exactly between two records are whole bodies; all others must throw.
  std::size_t whole = 0;
  for (std::size_t n = 0; n < body.size(); ++n) {
    engine::event_buffer events;
    try {
      decode_journal(std::string_view(body).substr(0, n), instruments, events);
      ++whole;
    } catch (const journal_error&) {
    }
  }
  EXPECT_EQ(whole, 2u);  // the format byte alone, and the first record alone
}

TEST(journal, unknown_formats_tags_and_enum_values_are_refused) {
  const auto instruments = two_instruments();
  journal_encoder out;
  out.add(sample_order(), "ETH-USD");
  const std::string body(out.bytes());
  engine::event_buffer events;

  std::string format = body;
  format[0] = static_cast<char>(kJournalFormat + 1);
  EXPECT_THROW(decode_journal(format, instruments, events), journal_error);

  std::string tag = body;
  tag[1] = 'x';
  EXPECT_THROW(decode_journal(tag, instruments, events), journal_error);

  // The side byte follows the tag, three length-prefixed texts.
  const std::size_t side_at = 1 + 1 + (1 + 7) + (1 + 14) + (1 + 7);
  ASSERT_EQ(body[side_at], static_cast<char>(engine::side::sell));
  std::string side = body;
  side[side_at] = 2;
  EXPECT_THROW(decode_journal(side, instruments, events), journal_error);
  std::string status = body;
  status[side_at + 3] = 5;
  EXPECT_THROW(decode_journal(status, instruments, events), journal_error);

  std::string long_id = body;
  long_id[2] = static_cast<char>(engine::kMaxIdLength + 1);
  EXPECT_THROW(decode_journal(long_id, instruments, events), journal_error);
  EXPECT_TRUE(events.empty()) << "a refused record appends nothing";
}

}  // namespace
}  // namespace matchd::store
