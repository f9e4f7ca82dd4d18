// 1,000 clients connected at once, each sending orders on its own keep-alive connection;
// the book must account for every one of them exactly.

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "harness.h"

namespace matchd::e2e {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using nlohmann::json;

constexpr int kClients = 1000;
constexpr int kOrdersPerClient = 5;

void raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// Many keep-alive HTTP connections driven by one io_context on the calling thread: all
// connect first, then each sends its requests one after another.
class connection_pool {
 public:
  struct result {
    unsigned status = 0;
    std::string body;
  };

  connection_pool(std::uint16_t port, int connections) : port_(port) {
    for (int i = 0; i < connections; ++i) conns_.push_back(std::make_unique<conn>(ioc_));
  }

  // Returns how many connected; errors() says why the others did not.
  int connect_all(std::chrono::seconds timeout) {
    const tcp::endpoint endpoint(net::ip::make_address_v4("127.0.0.1"), port_);
    for (auto& c : conns_) {
      c->stream.expires_after(timeout);
      c->stream.async_connect(endpoint, [this, raw = c.get()](beast::error_code ec) {
        if (ec) {
          raw->error = "connect: " + ec.message();
          return;
        }
        raw->stream.socket().set_option(tcp::no_delay(true));
        ++connected_;
      });
    }
    ioc_.restart();
    ioc_.run_for(timeout + std::chrono::seconds(1));
    return connected_;
  }

  // Sends `per_connection` POST /orders on every connected connection, body(i, j) for the
  // j-th order of connection i; all connections run concurrently.
  void post_orders(int per_connection, const std::function<json(int, int)>& body,
                   std::chrono::seconds timeout) {
    timeout_ = timeout;
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      conn& c = *conns_[i];
      if (!c.error.empty()) continue;
      for (int j = 0; j < per_connection; ++j)
        c.bodies.push_back(body(static_cast<int>(i), j).dump());
      send_next(c);
    }
    ioc_.restart();
    ioc_.run_for(timeout + std::chrono::seconds(1));
  }

  [[nodiscard]] std::vector<result> results_of(std::size_t connection) const {
    return conns_[connection]->results;
  }
  [[nodiscard]] std::vector<std::string> errors() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      if (!conns_[i]->error.empty())
        out.push_back("connection " + std::to_string(i) + ": " + conns_[i]->error);
    }
    return out;
  }

 private:
  struct conn {
    explicit conn(net::io_context& ioc) : stream(ioc) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
    std::vector<std::string> bodies;
    std::vector<result> results;
    std::string error;
  };

  void send_next(conn& c) {
    if (c.results.size() >= c.bodies.size()) return;
    c.req = {http::verb::post, "/orders", 11};
    c.req.set(http::field::host, "127.0.0.1:" + std::to_string(port_));
    c.req.set(http::field::content_type, "application/json");
    c.req.body() = c.bodies[c.results.size()];
    c.req.keep_alive(true);
    c.req.prepare_payload();
    c.stream.expires_after(timeout_);
    http::async_write(c.stream, c.req, [this, &c](beast::error_code ec, std::size_t) {
      if (ec) {
        c.error = "write: " + ec.message();
        return;
      }
      c.res = {};
      c.stream.expires_after(timeout_);
      http::async_read(c.stream, c.buffer, c.res, [this, &c](beast::error_code rec, std::size_t) {
        if (rec) {
          c.error = "read: " + rec.message();
          return;
        }
        c.results.push_back({c.res.result_int(), c.res.body()});
        send_next(c);
      });
    });
  }

  std::uint16_t port_;
  int connected_ = 0;
  std::chrono::seconds timeout_{30};
  net::io_context ioc_;
  std::vector<std::unique_ptr<conn>> conns_;
};

class concurrency : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { raise_open_file_limit(); }

  daemon_process daemon{
      {"--rate-limit", "0", "--max-connections", "2000", "--max-connections-per-address", "2000"}};
  http_client http{daemon.port()};
};

std::string client_id(int i) {
  return "client-" + std::to_string(i);
}
std::string order_id(int i, int j) {
  return "c" + std::to_string(i) + "-" + std::to_string(j);
}

TEST_F(concurrency, thousand_clients_resting_at_one_price_sum_exactly) {
  connection_pool pool(daemon.port(), kClients);
  ASSERT_EQ(pool.connect_all(std::chrono::seconds(20)), kClients)
      << ::testing::PrintToString(pool.errors());
  pool.post_orders(
      kOrdersPerClient,
      [](int i, int j) {
        return limit_order(order_id(i, j), client_id(i), "buy", "100.00", "0.001");
      },
      std::chrono::seconds(40));

  const std::vector<std::string> errors = pool.errors();
  ASSERT_TRUE(errors.empty()) << errors.size() << " failed, first: " << errors.front();
  int created = 0;
  for (int i = 0; i < kClients; ++i) {
    const auto results = pool.results_of(static_cast<std::size_t>(i));
    ASSERT_EQ(results.size(), static_cast<std::size_t>(kOrdersPerClient)) << "client " << i;
    for (const auto& r : results) {
      EXPECT_EQ(r.status, 201u) << r.body;
      if (r.status == 201) ++created;
      const json body = json::parse(r.body, nullptr, false);
      EXPECT_EQ(body["order"].value("status", ""), "open") << r.body;
    }
  }
  EXPECT_EQ(created, kClients * kOrdersPerClient);

  const json book = http.get(orderbook_path(10)).json();
  EXPECT_EQ(book["asks"], json::array());
  ASSERT_EQ(book["bids"].size(), 1u) << book.dump();
  EXPECT_EQ(book["bids"][0]["price"], "100.00");
  EXPECT_EQ(book["bids"][0]["quantity"], format_units(kClients * kOrdersPerClient * 100000LL, 8));
  EXPECT_EQ(book["bids"][0]["orders"], kClients * kOrdersPerClient);
  EXPECT_EQ(book["bids"][0]["cumulative_quantity"], book["bids"][0]["quantity"]);
}

// Half the clients buy 0.001, the other half sell 0.002, all at 100.00: whatever the
// interleaving, 2.5 trades in total and 2.5 rests on the ask, and every trade is reported
// exactly once, to its taker.
TEST_F(concurrency, thousand_clients_crossing_at_one_price_match_exactly) {
  connection_pool pool(daemon.port(), kClients);
  ASSERT_EQ(pool.connect_all(std::chrono::seconds(20)), kClients)
      << ::testing::PrintToString(pool.errors());
  auto is_buyer = [](int i) { return i % 2 == 0; };
  pool.post_orders(
      kOrdersPerClient,
      [&](int i, int j) {
        return is_buyer(i) ? limit_order(order_id(i, j), client_id(i), "buy", "100.00", "0.001")
                           : limit_order(order_id(i, j), client_id(i), "sell", "100.00", "0.002");
      },
      std::chrono::seconds(40));

  const std::vector<std::string> errors = pool.errors();
  ASSERT_TRUE(errors.empty()) << errors.size() << " failed, first: " << errors.front();

  std::map<std::string, std::int64_t> filled;  // order_id -> lots, from the trades
  std::set<std::string> trade_ids;
  std::int64_t traded = 0;
  for (int i = 0; i < kClients; ++i) {
    const auto results = pool.results_of(static_cast<std::size_t>(i));
    ASSERT_EQ(results.size(), static_cast<std::size_t>(kOrdersPerClient)) << "client " << i;
    for (const auto& r : results) {
      ASSERT_EQ(r.status, 201u) << r.body;
      const json body = json::parse(r.body, nullptr, false);
      const json& order = body["order"];
      EXPECT_EQ(decimal_units(order["filled_quantity"], 8).value_or(-1) +
                    decimal_units(order["remaining_quantity"], 8).value_or(-1),
                decimal_units(order["quantity"], 8).value_or(-2))
          << order.dump();
      for (const json& t : body["trades"]) {
        EXPECT_TRUE(trade_ids.insert(t.value("trade_id", "")).second)
            << "trade twice: " << t.dump();
        const std::int64_t q = decimal_units(t["quantity"], 8).value_or(0);
        EXPECT_EQ(t["price"], "100.00");
        traded += q;
        filled[t.value("buy_order_id", "")] += q;
        filled[t.value("sell_order_id", "")] += q;
      }
    }
  }
  const std::int64_t buys = kClients / 2 * kOrdersPerClient * 100000LL;
  const std::int64_t sells = kClients / 2 * kOrdersPerClient * 200000LL;
  EXPECT_EQ(traded, buys);

  int open_sells = 0;
  for (int i = 0; i < kClients; ++i) {
    for (int j = 0; j < kOrdersPerClient; ++j) {
      const std::int64_t f = filled[order_id(i, j)];
      if (is_buyer(i)) {
        EXPECT_EQ(f, 100000) << order_id(i, j) << " (buy) filled " << format_units(f, 8);
      } else {
        EXPECT_LE(f, 200000) << order_id(i, j);
        if (f < 200000) ++open_sells;
      }
    }
  }

  const json book = http.get(orderbook_path(10)).json();
  EXPECT_EQ(book["bids"], json::array()) << book.dump();
  ASSERT_EQ(book["asks"].size(), 1u) << book.dump();
  EXPECT_EQ(book["asks"][0]["price"], "100.00");
  EXPECT_EQ(book["asks"][0]["quantity"], format_units(sells - buys, 8));
  EXPECT_EQ(book["asks"][0]["orders"], open_sells);
}

}  // namespace
}  // namespace matchd::e2e
