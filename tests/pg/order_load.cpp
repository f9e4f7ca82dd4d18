#include "order_load.h"

#include <map>
#include <random>
#include <sstream>

#include "api_checks.h"
#include "http_client.h"
#include "order_builders.h"

namespace matchd::pgtest {

std::string exchange_record::describe() const {
  std::ostringstream out;
  out << (what == kind::place ? "POST /orders " + request.dump()
                              : "POST /orders/" + order_id + "/cancel")
      << " -> ";
  if (status == 0) {
    out << "no response (" << transport_error << ")";
  } else {
    out << "HTTP " << status << " " << response.dump();
  }
  return out.str();
}

order_load::order_load(std::uint16_t port, load_options options)
    : port_(port), options_(std::move(options)) {}

order_load::~order_load() {
  stop();
}

void order_load::start() {
  stopping_ = false;
  per_thread_.assign(static_cast<std::size_t>(options_.threads), {});
  for (int i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this, i] { run_thread(i); });
  }
}

void order_load::stop() {
  stopping_ = true;
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  std::lock_guard lock(mutex_);
  for (std::vector<exchange_record>& list : per_thread_) {
    for (exchange_record& r : list) records_.push_back(std::move(r));
  }
  per_thread_.clear();
}

std::string order_load::summary() const {
  std::map<unsigned, std::size_t> by_status;
  for (const exchange_record& r : records_) ++by_status[r.status];
  std::ostringstream out;
  out << records_.size() << " requests:";
  for (const auto& [status, count] : by_status) {
    out << " " << count << (status == 0 ? " without response" : " HTTP " + std::to_string(status))
        << ",";
  }
  return out.str();
}

void order_load::run_thread(int index) {
  std::mt19937_64 rng(options_.seed * 7919u + static_cast<unsigned>(index));
  auto chance = [&](int percent) {
    return std::uniform_int_distribution<int>(0, 99)(rng) < percent;
  };
  auto between = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  e2e::http_client http(port_, options_.request_timeout);
  std::vector<exchange_record> records;
  std::vector<std::string> resting;  // own orders last seen open / partially filled
  const std::string client = "client-" + std::to_string(index % 2);
  std::uint64_t next = 0;

  while (!stopping_.load(std::memory_order_relaxed)) {
    exchange_record record;
    const int roll = std::uniform_int_distribution<int>(0, 99)(rng);
    if (roll < options_.cancel_percent && !resting.empty()) {
      const std::size_t pick =
          static_cast<std::size_t>(between(0, static_cast<std::int64_t>(resting.size()) - 1));
      record.what = exchange_record::kind::cancel;
      record.order_id = resting[pick];
      resting[pick] = resting.back();
      resting.pop_back();
    } else {
      record.what = exchange_record::kind::place;
      record.order_id =
          options_.id_prefix + "-t" + std::to_string(index) + "-" + std::to_string(next++);
      const bool buy = chance(50);
      const std::string side = buy ? "buy" : "sell";
      const std::string quantity = e2e::format_units(between(1, 10) * 100000, 8);
      const int kind_roll = roll - options_.cancel_percent;
      if (kind_roll >= 0 && kind_roll < options_.market_percent) {
        record.request = e2e::market_order(record.order_id, client, side, quantity);
      } else if (kind_roll >= options_.market_percent &&
                 kind_roll < options_.market_percent + options_.crossing_percent) {
        const std::int64_t depth = between(0, options_.crossing_depth_ticks);
        const std::int64_t price = buy ? options_.mid_ticks + depth : options_.mid_ticks - depth;
        const int tif_roll = std::uniform_int_distribution<int>(0, 9)(rng);
        const std::string tif = tif_roll < 5 ? "gtc" : (tif_roll < 8 ? "ioc" : "fok");
        record.request = e2e::limit_order(record.order_id, client, side,
                                          e2e::format_units(price, 2), quantity, tif);
      } else {
        const std::int64_t offset = between(1, options_.passive_spread_ticks);
        const std::int64_t price = buy ? options_.mid_ticks - offset : options_.mid_ticks + offset;
        record.request =
            e2e::limit_order(record.order_id, client, side, e2e::format_units(price, 2), quantity);
      }
      // Two clients trade with each other and with themselves: the history replay
      // (db_state.cpp) is the matching of docs/api.md without self-trade prevention.
      record.request["stp"] = "none";
    }

    record.sent = std::chrono::steady_clock::now();
    try {
      const e2e::http_response response =
          record.what == exchange_record::kind::place
              ? http.post_json("/orders", record.request)
              : http.request("POST", e2e::cancel_path(record.order_id));
      record.status = response.status;
      record.response = response.json();
      record.retry_after = response.header("Retry-After");
    } catch (const std::exception& e) {
      record.transport_error = e.what();
    }
    record.answered = std::chrono::steady_clock::now();
    if (record.status != 0) answered_.fetch_add(1, std::memory_order_relaxed);
    if (record.acknowledged()) acknowledged_.fetch_add(1, std::memory_order_relaxed);

    if (record.what == exchange_record::kind::place && record.status == 201) {
      const std::string status = record.response["order"].value("status", "");
      if (status == "open" || status == "partially_filled") resting.push_back(record.order_id);
    }
    const bool failed = record.status == 0;
    records.push_back(std::move(record));
    // Pacing: a client that lost the daemon does not retry in a tight loop.
    if (failed) std::this_thread::sleep_for(options_.pause_after_transport_error);  // pacing
  }
  std::lock_guard lock(mutex_);
  per_thread_[static_cast<std::size_t>(index)] = std::move(records);
}

}  // namespace matchd::pgtest
