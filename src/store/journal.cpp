#include <matchd/store/journal.h>

#include <limits>

namespace matchd::store {

namespace {

// -Wpedantic: the GCC/Clang builtin, as engine::int128.
__extension__ using uint128 = unsigned __int128;

constexpr char kOrderTag = 'o';
constexpr char kTradeTag = 't';
constexpr char kLevelTag = 'l';

void put_u64(std::string& out, std::uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out.append(b, sizeof b);
}
void put_i64(std::string& out, std::int64_t v) {
  put_u64(out, static_cast<std::uint64_t>(v));
}
void put_u8(std::string& out, std::uint8_t v) {
  out.push_back(static_cast<char>(v));
}
void put_text(std::string& out, std::string_view v) {
  put_u8(out, static_cast<std::uint8_t>(v.size()));  // ids and symbols are short (< 256)
  out.append(v);
}

// Reads a body front to back; every read checks that the bytes are there.
class reader {
 public:
  explicit reader(std::string_view body) : rest_(body) {}

  bool done() const noexcept { return rest_.empty(); }

  std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)[0]); }
  std::uint64_t u64() {
    const std::string_view b = take(8);
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[i]);
    return v;
  }
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  std::string_view text() { return take(u8()); }

  template <class Enum>
  Enum enumerated(Enum last, const char* what) {
    const std::uint8_t v = u8();
    if (v > static_cast<std::uint8_t>(last)) {
      throw journal_error(std::string("journal: bad ") + what + " " + std::to_string(v));
    }
    return static_cast<Enum>(v);
  }

  template <std::size_t N>
  engine::fixed_string<N> id() {
    const std::string_view v = text();
    if (v.size() > N) throw journal_error("journal: id longer than " + std::to_string(N));
    return engine::fixed_string<N>::from(v);
  }

 private:
  std::string_view take(std::size_t n) {
    if (rest_.size() < n) throw journal_error("journal: body cut short");
    const std::string_view v = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return v;
  }

  std::string_view rest_;
};

engine::instrument_id resolve(std::string_view symbol,
                              const std::vector<engine::instrument>& instruments) {
  if (const auto id = engine::find_instrument(instruments, symbol)) return *id;
  throw journal_error("journal: instrument " + std::string(symbol) +
                      " is not configured (--instrument)");
}

}  // namespace

void journal_encoder::clear() {
  bytes_.clear();
  put_u8(bytes_, kJournalFormat);
  records_ = 0;
}

void journal_encoder::add(const engine::order& o, std::string_view instrument_symbol,
                          std::string_view client_order_id) {
  bytes_.push_back(kOrderTag);
  put_text(bytes_, o.id.view());
  put_text(bytes_, o.client.view());
  put_text(bytes_, instrument_symbol);
  put_u8(bytes_, static_cast<std::uint8_t>(o.order_side));
  put_u8(bytes_, static_cast<std::uint8_t>(o.type));
  put_u8(bytes_, static_cast<std::uint8_t>(o.tif));
  put_u8(bytes_, static_cast<std::uint8_t>(o.status));
  put_i64(bytes_, o.price.value);
  put_i64(bytes_, o.quantity.value);
  put_i64(bytes_, o.filled.value);
  const auto notional = static_cast<uint128>(o.notional);
  put_u64(bytes_, static_cast<std::uint64_t>(notional));
  put_u64(bytes_, static_cast<std::uint64_t>(notional >> 64));
  put_i64(bytes_, o.created_at);
  put_i64(bytes_, o.updated_at);
  put_u64(bytes_, o.created_sequence);
  put_u64(bytes_, o.sequence);
  put_u64(bytes_, o.key);
  put_u8(bytes_, static_cast<std::uint8_t>(o.reason));
  put_u8(bytes_, static_cast<std::uint8_t>(o.stp));
  put_u8(bytes_, o.post_only ? 1 : 0);
  put_u8(bytes_, o.amended ? 1 : 0);
  put_text(bytes_, client_order_id);
  put_i64(bytes_, o.stop_price.value);
  put_u8(bytes_, o.triggered ? 1 : 0);
  ++records_;
}

void journal_encoder::add(const engine::trade& t, std::string_view instrument_symbol) {
  bytes_.push_back(kTradeTag);
  put_u64(bytes_, t.id);
  put_text(bytes_, instrument_symbol);
  put_i64(bytes_, t.price.value);
  put_i64(bytes_, t.quantity.value);
  put_u8(bytes_, static_cast<std::uint8_t>(t.aggressor));
  put_text(bytes_, t.buy_order_id.view());
  put_text(bytes_, t.sell_order_id.view());
  put_i64(bytes_, t.executed_at);
  put_u64(bytes_, t.sequence);
  put_i64(bytes_, t.maker_fee);
  put_i64(bytes_, t.taker_fee);
  ++records_;
}

void journal_encoder::add(const engine::level_delta& d, std::string_view instrument_symbol) {
  bytes_.push_back(kLevelTag);
  put_text(bytes_, instrument_symbol);
  put_u8(bytes_, static_cast<std::uint8_t>(d.level_side));
  put_i64(bytes_, d.price.value);
  put_i64(bytes_, d.quantity.value);
  put_u64(bytes_, d.orders);
  put_u64(bytes_, d.sequence);
  ++records_;
}

namespace {

void decode(std::string_view body, const std::vector<engine::instrument>& instruments,
            engine::event_buffer& out, std::vector<journal_label>* labels, bool with_levels) {
  reader in(body);
  const std::uint8_t format = in.done() ? 0 : in.u8();
  if (format < kJournalFormatWithoutKeys || format > kJournalFormat) {
    throw journal_error("journal: unknown format");
  }
  const bool with_keys = format >= kJournalFormatWithoutOptions;
  const bool with_options = format >= kJournalFormatWithoutStops;
  const bool with_stops = format >= kJournalFormatWithoutFees;
  const bool with_fees = format >= kJournalFormatWithoutLevels;
  const bool levels_allowed = format >= kJournalFormat;
  while (!in.done()) {
    const char tag = static_cast<char>(in.u8());
    if (tag == kOrderTag) {
      engine::order o;
      o.id = in.id<engine::kMaxIdLength>();
      o.client = in.id<engine::kMaxIdLength>();
      o.instrument = resolve(in.text(), instruments);
      o.order_side = in.enumerated(engine::side::sell, "side");
      o.type = in.enumerated(engine::order_type::market, "order type");
      o.tif = in.enumerated(engine::time_in_force::fok, "time in force");
      o.status = in.enumerated(engine::order_status::rejected, "status");
      o.price = engine::price_ticks(in.i64());
      o.quantity = engine::quantity_lots(in.i64());
      o.filled = engine::quantity_lots(in.i64());
      const std::uint64_t low = in.u64();
      const std::uint64_t high = in.u64();
      o.notional = static_cast<engine::int128>((static_cast<uint128>(high) << 64) | low);
      o.created_at = in.i64();
      o.updated_at = in.i64();
      o.created_sequence = in.u64();
      o.sequence = in.u64();
      if (with_keys) o.key = in.u64();
      if (with_options) {
        o.reason = in.enumerated(engine::kLastEndReason, "end reason");
        o.stp = in.enumerated(engine::stp_mode::none, "stp mode");
        o.post_only = in.enumerated(std::uint8_t{1}, "post_only") != 0;
        o.amended = in.enumerated(std::uint8_t{1}, "amended") != 0;
        const auto label = in.id<engine::kMaxClientOrderIdLength>();
        if (labels != nullptr && !label.empty()) labels->push_back({out.size(), label});
        if (with_stops) {
          o.stop_price = engine::price_ticks(in.i64());
          o.triggered = in.enumerated(std::uint8_t{1}, "triggered") != 0;
        }
      } else {
        o.stp = engine::stp_mode::none;
      }
      out.emplace_back(o);
    } else if (tag == kTradeTag) {
      engine::trade t;
      t.id = in.u64();
      t.instrument = resolve(in.text(), instruments);
      t.price = engine::price_ticks(in.i64());
      t.quantity = engine::quantity_lots(in.i64());
      t.aggressor = in.enumerated(engine::side::sell, "aggressor side");
      t.buy_order_id = in.id<engine::kMaxIdLength>();
      t.sell_order_id = in.id<engine::kMaxIdLength>();
      t.executed_at = in.i64();
      t.sequence = in.u64();
      if (with_fees) {
        t.maker_fee = in.i64();
        t.taker_fee = in.i64();
      }
      out.emplace_back(t);
    } else if (tag == kLevelTag && levels_allowed) {
      engine::level_delta d;
      d.instrument = resolve(in.text(), instruments);
      d.level_side = in.enumerated(engine::side::sell, "level side");
      d.price = engine::price_ticks(in.i64());
      d.quantity = engine::quantity_lots(in.i64());
      const std::uint64_t orders = in.u64();
      if (orders > std::numeric_limits<std::uint32_t>::max()) {
        throw journal_error("journal: bad level order count");
      }
      d.orders = static_cast<std::uint32_t>(orders);
      d.sequence = in.u64();
      if (with_levels) out.emplace_back(d);
    } else {
      throw journal_error("journal: unknown record tag " +
                          std::to_string(static_cast<unsigned char>(tag)));
    }
  }
}

}  // namespace

void decode_journal(std::string_view body, const std::vector<engine::instrument>& instruments,
                    engine::event_buffer& out, std::vector<journal_label>* labels) {
  decode(body, instruments, out, labels, false);
}

void decode_journal_events(std::string_view body,
                           const std::vector<engine::instrument>& instruments,
                           engine::event_buffer& out, std::vector<journal_label>* labels) {
  decode(body, instruments, out, labels, true);
}

}  // namespace matchd::store
