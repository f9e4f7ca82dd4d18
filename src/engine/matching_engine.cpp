#include <matchd/engine/matching_engine.h>

#include <algorithm>
#include <cstring>

namespace matchd::engine {

namespace {
constexpr std::size_t kArenaChunkBytes = 1 << 20;
}  // namespace

matching_engine::matching_engine(std::vector<instrument> instruments, engine_options options)
    : instruments_(std::move(instruments)), options_(options) {
  books_.reserve(instruments_.size());
  for (std::size_t i = 0; i < instruments_.size(); ++i) {
    books_.push_back(std::make_unique<order_book>(static_cast<instrument_id>(i),
                                                  options_.expected_orders_per_book));
  }
  ids_.reserve(options_.expected_orders_per_book * std::max<std::size_t>(1, books_.size()));
}

std::optional<instrument_id> matching_engine::find_instrument(std::string_view symbol) const {
  for (std::size_t i = 0; i < instruments_.size(); ++i) {
    if (instruments_[i].symbol == symbol) return static_cast<instrument_id>(i);
  }
  return std::nullopt;
}

std::string_view matching_engine::intern(std::string_view id) {
  if (id_arena_.empty() || arena_used_ + id.size() > kArenaChunkBytes) {
    id_arena_.push_back(std::make_unique<char[]>(kArenaChunkBytes));
    arena_used_ = 0;
  }
  char* dst = id_arena_.back().get() + arena_used_;
  std::memcpy(dst, id.data(), id.size());
  arena_used_ += id.size();
  return {dst, id.size()};
}

void matching_engine::index_events(std::size_t first_event, const event_buffer& out) {
  for (std::size_t i = first_event; i < out.size(); ++i) {
    const order* o = std::get_if<order>(&out[i]);
    if (o == nullptr || !is_final(o->status)) continue;
    if (const auto it = ids_.find(o->id.view()); it != ids_.end()) {
      it->second.instrument = kFinished;
    }
  }
}

command_result matching_engine::place(const place_order& cmd, event_buffer& out) {
  if (cmd.instrument >= books_.size()) return {errc::unknown_instrument, 0};
  if (ids_.contains(cmd.id.view())) return {errc::duplicate_order_id, 0};
  order_book& book = *books_[cmd.instrument];
  const bool may_rest = cmd.type == order_type::limit && cmd.tif == time_in_force::gtc;
  if (may_rest && book.order_count() >= options_.max_open_orders_per_book) {
    return {errc::book_full, 0};
  }

  const sequence_number seq = ++sequence_;
  order taker;
  taker.id = cmd.id;
  taker.client = cmd.client;
  taker.instrument = cmd.instrument;
  taker.order_side = cmd.order_side;
  taker.type = cmd.type;
  taker.tif = cmd.type == order_type::market ? time_in_force::ioc : cmd.tif;
  taker.price = cmd.type == order_type::market ? price_ticks{0} : cmd.price;
  taker.quantity = cmd.quantity;

  const std::size_t first_event = out.size();
  order_book::command_context ctx{seq, cmd.received_at, &next_trade_id_, &out};
  const order_book::node_index rested = book.execute(taker, ctx);
  ids_.emplace(intern(cmd.id.view()),
               id_entry{rested == order_book::kNoNode ? kFinished : cmd.instrument, rested});
  index_events(first_event, out);
  return {errc::ok, seq};
}

command_result matching_engine::cancel(const cancel_order& cmd, event_buffer& out) {
  const auto it = ids_.find(cmd.id.view());
  if (it == ids_.end()) return {errc::order_not_found, 0};
  if (it->second.instrument == kFinished) return {errc::order_not_open, 0};

  const sequence_number seq = ++sequence_;
  order_book::command_context ctx{seq, cmd.received_at, &next_trade_id_, &out};
  books_[it->second.instrument]->cancel(it->second.node, ctx);
  it->second.instrument = kFinished;
  return {errc::ok, seq};
}

errc matching_engine::restore_resting(const order& o) {
  if (o.instrument >= books_.size()) return errc::unknown_instrument;
  if (ids_.contains(o.id.view())) return errc::duplicate_order_id;
  const order_book::node_index node = books_[o.instrument]->restore(o);
  ids_.emplace(intern(o.id.view()), id_entry{o.instrument, node});
  return errc::ok;
}

void matching_engine::restore_finished_id(std::string_view id) {
  if (!ids_.contains(id)) ids_.emplace(intern(id), id_entry{kFinished, 0});
}

void matching_engine::restore_counters(sequence_number last_sequence, trade_id last_trade) {
  sequence_ = last_sequence;
  next_trade_id_ = last_trade + 1;
}

order_presence matching_engine::presence(std::string_view id) const {
  const auto it = ids_.find(id);
  if (it == ids_.end()) return order_presence::unknown;
  return it->second.instrument == kFinished ? order_presence::finished
                                            : order_presence::resting;
}

const order* matching_engine::find_resting(std::string_view id) const {
  const auto it = ids_.find(id);
  if (it == ids_.end() || it->second.instrument == kFinished) return nullptr;
  return &books_[it->second.instrument]->resting_order(it->second.node);
}

std::string matching_engine::check_invariants() const {
  std::size_t resting = 0;
  for (const auto& book : books_) {
    if (std::string problem = book->check_invariants(); !problem.empty()) return problem;
    resting += book->order_count();
  }
  std::size_t indexed = 0;
  for (const auto& [id, entry] : ids_) {
    if (entry.instrument == kFinished) continue;
    ++indexed;
    if (entry.instrument >= books_.size()) return "id index points to an unknown book";
    if (books_[entry.instrument]->resting_order(entry.node).id.view() != id) {
      return "id index points to another order: " + std::string(id);
    }
  }
  if (indexed != resting) return "id index and books disagree on the resting orders";
  return {};
}

}  // namespace matchd::engine
