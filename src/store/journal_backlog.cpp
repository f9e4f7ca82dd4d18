#include <matchd/store/journal.h>
#include <matchd/store/journal_backlog.h>

#include <algorithm>
#include <pqxx/pqxx>
#include <stdexcept>
#include <variant>

#include "journal_rows.h"

namespace matchd::store {

namespace {
// Journal rows per SELECT: bounds the client's memory while reading a long backlog.
constexpr std::size_t kRowsPerRead = 512;
}  // namespace

journal_backlog::journal_backlog(engine::sequence_number applied, std::size_t instruments,
                                 std::size_t trades_per_instrument)
    : applied_(applied),
      trades_per_instrument_(trades_per_instrument),
      trades_(instruments),
      seconds_(instruments) {}

journal_backlog journal_backlog::read(pqxx::transaction_base& tx,
                                      const std::vector<engine::instrument>& instruments,
                                      std::size_t trades_per_instrument) {
  const auto applied = static_cast<engine::sequence_number>(
      tx.exec1("SELECT applied_sequence FROM journal_progress WHERE id = 1")[0].as<long long>());
  journal_backlog backlog(applied, instruments.size(), trades_per_instrument);
  engine::sequence_number after = applied;
  while (true) {
    const pqxx::result rows = select_journal_rows(tx, after, kRowsPerRead);
    for (const pqxx::row& row : rows) {
      const pqxx::binarystring body(row[1]);
      backlog.add_body(std::string_view(body.get(), body.size()), instruments);
    }
    if (rows.size() < kRowsPerRead) break;
    after = rows.back()[0].as<engine::sequence_number>();
  }
  return backlog;
}

void journal_backlog::add_body(std::string_view body,
                               const std::vector<engine::instrument>& instruments) {
  engine::event_buffer events;
  std::vector<journal_label> labels;
  decode_journal(body, instruments, events, &labels);
  for (const journal_label& l : labels) {
    labels_.insert_or_assign(std::string(std::get<engine::order>(events[l.event]).id.view()),
                             l.client_order_id);
  }
  for (const engine::event& e : events) {
    if (const auto* o = std::get_if<engine::order>(&e)) {
      latest_.insert_or_assign(std::string(o->id.view()), *o);
    }
  }
  // A trade's two orders have a state in the same command's events, so in this body: their
  // clients are known now (the taker's state comes after its trades).
  const auto client_of = [&](const engine::order_id& id) {
    const auto it = latest_.find(id.view());
    if (it == latest_.end()) {
      throw journal_error("journal: trade of order " + std::string(id.view()) +
                          " without that order's state in the same row");
    }
    return it->second.client;
  };
  for (const engine::event& e : events) {
    if (const auto* t = std::get_if<engine::trade>(&e)) {
      fills_.push_back({client_of(t->buy_order_id), t->instrument, clearing::buyer_fill(*t)});
      fills_.push_back({client_of(t->sell_order_id), t->instrument, clearing::seller_fill(*t)});
      auto& recent = trades_[t->instrument];
      recent.push_back(*t);
      if (recent.size() > trades_per_instrument_) recent.pop_front();
      // Times never go back in sequence order (matching_engine::stamp): a trade's second is
      // the last one's or a later one.
      auto& seconds = seconds_[t->instrument];
      const engine::timestamp_us second =
          analytics::bucket_start(analytics::interval::s1, t->executed_at);
      if (seconds.empty() || seconds.back().open_time < second) seconds.push_back({second, {}});
      seconds.back().summary.add(t->price, t->quantity, t->id);
    }
  }
  ++rows_;
}

std::optional<engine::order> journal_backlog::take(std::string_view order_id) {
  if (latest_.empty()) return std::nullopt;
  const auto it = latest_.find(order_id);
  if (it == latest_.end()) return std::nullopt;
  engine::order o = it->second;
  latest_.erase(it);
  return o;
}

std::vector<engine::order> journal_backlog::take_created() {
  std::vector<engine::order> created;
  boost::unordered::erase_if(latest_, [&](const auto& entry) {
    if (entry.second.created_sequence <= applied_) return false;
    created.push_back(entry.second);
    return true;
  });
  std::sort(created.begin(), created.end(), [](const engine::order& a, const engine::order& b) {
    return a.created_sequence < b.created_sequence;
  });
  return created;
}

void journal_backlog::expect_all_taken() const {
  std::size_t missing = 0;
  const engine::order* first = nullptr;
  for (const auto& [id, o] : latest_) {
    if (o.created_sequence > applied_) continue;  // the backlog's own (take_created)
    if (first == nullptr) first = &o;
    ++missing;
  }
  if (first == nullptr) return;
  throw std::runtime_error("recovery: the journal changes order " + std::string(first->id.view()) +
                           " (created at sequence " + std::to_string(first->created_sequence) +
                           "), which the tables lack though they are applied up to " +
                           std::to_string(applied_) + "; " + std::to_string(missing) +
                           " such orders");
}

std::string_view journal_backlog::label(std::string_view order_id) const {
  if (labels_.empty()) return {};
  const auto it = labels_.find(order_id);
  return it == labels_.end() ? std::string_view{} : it->second.view();
}

const std::vector<analytics::candle>& journal_backlog::seconds(engine::instrument_id i) const {
  return seconds_.at(i);
}

const std::deque<engine::trade>& journal_backlog::trades(engine::instrument_id i) const {
  return trades_.at(i);
}

}  // namespace matchd::store
