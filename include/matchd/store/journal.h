#pragma once

#include <matchd/engine/event.h>
#include <matchd/engine/instrument.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace matchd::store {

// The durable unit of a commit: the order states and trades of one group of commands, in
// one compact binary body (one row of `journal`). The acknowledgement waits for this row
// only; the normalized tables (orders, order_events, trades) are derived from it later by
// the journal applier, which can rebuild them exactly from the bodies.
//
// Layout: a format byte, then records. Integers are little-endian and fixed width; ids and
// symbols are a length byte and their characters. Every order record carries the whole
// order (about 110 bytes), so a body can be turned into table rows on its own.
//
// Format 2 ends each order record with the placing key's id (8 bytes, 0 for none); format
// 1, written before keys existed, lacks it and is still read (its orders have no key), so
// a journal left by an older build is applied and recovered after an upgrade.
//
// Format 3 adds, after the key, the order options: reason, stp, post_only and amended (one
// byte each) and the client_order_id (a length byte and its characters). Formats 1 and 2
// are still read: their orders have the defaults (no reason, stp none, as they were
// placed before self-trade prevention existed, not post_only, not amended, no label).
//
// Format 4 adds, after the client_order_id, the stop price (8 bytes, 0 for none) and
// whether the stop triggered (one byte). Format 3 is still read: its orders are no stops.
//
// Format 5 ends each trade record with the maker's and the taker's fee (8 bytes each).
// Format 4 is still read: its trades charged no fee (fees came with format 5).
//
// Format 6 may also hold level records: a price level's new total after a command (side,
// price, quantity, orders, sequence), written only while events are exported (the exporter
// publishes the book's changes with their own sequence numbers, and nothing else keeps
// them). Readers of the tables and recovery skip them; format 5 bodies have none.
inline constexpr std::uint8_t kJournalFormat = 6;
inline constexpr std::uint8_t kJournalFormatWithoutLevels = 5;
inline constexpr std::uint8_t kJournalFormatWithoutFees = 4;
inline constexpr std::uint8_t kJournalFormatWithoutStops = 3;
inline constexpr std::uint8_t kJournalFormatWithoutOptions = 2;
inline constexpr std::uint8_t kJournalFormatWithoutKeys = 1;

class journal_encoder {
 public:
  journal_encoder() { clear(); }

  // `client_order_id`: the order's label, given with the state its placing command
  // produced (the engine's order does not hold it); empty otherwise.
  void add(const engine::order& o, std::string_view instrument_symbol,
           std::string_view client_order_id = {});
  void add(const engine::trade& t, std::string_view instrument_symbol);
  void add(const engine::level_delta& d, std::string_view instrument_symbol);

  [[nodiscard]] std::size_t records() const noexcept { return records_; }
  [[nodiscard]] std::string_view bytes() const noexcept { return bytes_; }
  // The body, handed over; the encoder is empty afterwards.
  [[nodiscard]] std::string take() {
    std::string out = std::move(bytes_);
    clear();
    return out;
  }
  void clear();

 private:
  std::string bytes_;
  std::size_t records_ = 0;
};

// A body that is not one this build wrote: a wrong format byte, a record cut short, an
// unknown tag or enum value, or an instrument that is not configured.
class journal_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Appends the body's orders and trades to `out`, in the order they were written.
// Instrument symbols are resolved against `instruments` (the ids of this run's
// configuration, which may differ from the writer's). Throws journal_error.
// An order record's client_order_id, beside the event decoded from it: events[event].
struct journal_label {
  std::size_t event = 0;
  engine::order_label client_order_id;
};

// Level records are skipped: the tables and recovery are made of orders and trades.
void decode_journal(std::string_view body, const std::vector<engine::instrument>& instruments,
                    engine::event_buffer& out, std::vector<journal_label>* labels = nullptr);

// Every record, level records included, in the order they were written (the exporter's view:
// the group's events in sequence order, as the streams carried them).
void decode_journal_events(std::string_view body,
                           const std::vector<engine::instrument>& instruments,
                           engine::event_buffer& out, std::vector<journal_label>* labels = nullptr);

}  // namespace matchd::store
