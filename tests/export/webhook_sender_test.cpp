#include <gtest/gtest.h>
#include <matchd/export/webhook_sender.h>
#include <matchd/export/webhook_signature.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace matchd::event_export {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// Every wait in these tests ends by this, so a broken sender fails them instead of hanging.
constexpr auto kWaitLimit = 5s;

struct seen_request {
  std::string method;
  std::string target;
  std::string host;
  std::string content_type;
  std::string user_agent;
  std::string signature;
  std::string event_id;
  std::string event_type;
  std::string connection;
  std::string body;
};

// A blocking HTTP server on 127.0.0.1 (an ephemeral port) that answers each connection on
// a thread of its own, so a slow answer does not hold a fast one. `answer_for` picks, from
// the request's target, the status and how long to wait before answering; stopping the
// server cuts those waits short. The destructor joins every thread it started.
class loopback_server {
 public:
  struct answer {
    int status = 200;
    std::chrono::milliseconds delay{0};
  };

  explicit loopback_server(std::function<answer(const std::string&)> answer_for)
      : answer_for_(std::move(answer_for)),
        acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~loopback_server() { stop(); }
  loopback_server(const loopback_server&) = delete;
  loopback_server& operator=(const loopback_server&) = delete;

  [[nodiscard]] std::string url(std::string_view target) const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) +
           std::string(target);
  }
  [[nodiscard]] unsigned short port() const { return acceptor_.local_endpoint().port(); }

  [[nodiscard]] std::vector<seen_request> seen() const {
    const std::lock_guard lock(mutex_);
    return seen_;
  }

  // Whether `count` requests arrived within the wait limit.
  bool wait_for_requests(std::size_t count) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kWaitLimit, [&] { return seen_.size() >= count; });
  }

  void stop() {
    {
      const std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    changed_.notify_all();
    // A blocking accept() is not woken by closing the acceptor: connect to it instead.
    {
      tcp::socket waker(io_);
      boost::system::error_code ignored;
      waker.connect(acceptor_.local_endpoint(), ignored);
    }
    accept_thread_.join();
    for (std::thread& t : connections_) t.join();
  }

 private:
  void accept_loop() {
    for (;;) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      const std::lock_guard lock(mutex_);
      if (stopping_ || ec) return;
      connections_.emplace_back(
          [this, s = std::make_shared<tcp::socket>(std::move(socket))] { serve(*s); });
    }
  }

  void serve(tcp::socket& socket) {
    // A client that connects and never writes must not keep this thread past the test.
    timeval receive_limit{};
    receive_limit.tv_sec = std::chrono::seconds(kWaitLimit).count();
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &receive_limit,
                 sizeof receive_limit);
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    boost::system::error_code ec;
    http::read(socket, buffer, request, ec);
    if (ec) return;

    seen_request s;
    s.method = std::string(request.method_string());
    s.target = std::string(request.target());
    s.host = std::string(request[http::field::host]);
    s.content_type = std::string(request[http::field::content_type]);
    s.user_agent = std::string(request[http::field::user_agent]);
    s.signature = std::string(request["Matchd-Signature"]);
    s.event_id = std::string(request["Matchd-Event-Id"]);
    s.event_type = std::string(request["Matchd-Event-Type"]);
    s.connection = std::string(request[http::field::connection]);
    s.body = request.body();
    const answer a = answer_for_(s.target);
    {
      std::unique_lock lock(mutex_);
      seen_.push_back(std::move(s));
      changed_.notify_all();
      changed_.wait_for(lock, a.delay, [this] { return stopping_; });
    }

    http::response<http::string_body> response(static_cast<http::status>(a.status), 11);
    response.set(http::field::content_type, "text/plain");
    response.set(http::field::connection, "close");
    response.body() = "answer";
    response.prepare_payload();
    http::write(socket, response, ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
  }

  const std::function<answer(const std::string&)> answer_for_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  bool stopping_ = false;
  std::vector<seen_request> seen_;
  std::vector<std::thread> connections_;  // written by the accept thread until it is joined
  std::thread accept_thread_;
};

loopback_server::answer answer_by_target(const std::string& target) {
  if (target == "/fail") return {500, 0ms};
  if (target == "/slow") return {200, 1500ms};
  if (target == "/hang") return {200, 3000ms};
  return {200, 0ms};
}

// The result of one send, handed from the sender's thread to the test's.
class result_slot {
 public:
  std::function<void(webhook_result)> done() {
    return [state = state_](webhook_result r) {
      const std::lock_guard lock(state->mutex);
      ++state->calls;
      state->result = std::move(r);
      state->arrived.notify_all();
    };
  }

  // The result, or a failed test if none came within the wait limit.
  webhook_result wait() {
    std::unique_lock lock(state_->mutex);
    const bool came =
        state_->arrived.wait_for(lock, kWaitLimit, [this] { return state_->calls > 0; });
    EXPECT_TRUE(came) << "no result within the wait limit";
    EXPECT_LE(state_->calls, 1);
    return state_->result;
  }

 private:
  struct state {
    std::mutex mutex;
    std::condition_variable arrived;
    int calls = 0;
    webhook_result result;
  };
  std::shared_ptr<state> state_ = std::make_shared<state>();
};

webhook_request make_request(std::uint64_t id, std::string url, std::string secret = "s3cret") {
  webhook_request r;
  r.delivery_id = id;
  r.url = std::move(url);
  r.body = R"({"type":"trade.executed","id":)" + std::to_string(id) + "}";
  r.secret = std::move(secret);
  r.event_id = "evt-" + std::to_string(id);
  r.event_type = "trade.executed";
  return r;
}

// A port nothing listens on: bound once, then released.
unsigned short closed_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const unsigned short port = acceptor.local_endpoint().port();
  acceptor.close();
  return port;
}

TEST(WebhookSender, DeliversASignedPost) {
  loopback_server server(answer_by_target);
  webhook_sender sender(2s, /*allow_private=*/true);
  sender.start();
  const std::string secret = new_webhook_secret();
  const webhook_request request = make_request(7, server.url("/hooks/matchd?x=1"), secret);

  result_slot slot;
  sender.send(request, slot.done());
  const webhook_result r = slot.wait();
  EXPECT_EQ(r.delivery_id, 7u);
  EXPECT_TRUE(r.delivered) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(sender.in_flight(), 0u);

  const std::vector<seen_request> seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  const seen_request& s = seen.front();
  EXPECT_EQ(s.method, "POST");
  EXPECT_EQ(s.target, "/hooks/matchd?x=1");
  EXPECT_EQ(s.host, "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(s.body, request.body);
  EXPECT_EQ(s.content_type, "application/json");
  EXPECT_EQ(s.user_agent, "matchd-webhooks/1");
  EXPECT_EQ(s.event_id, "evt-7");
  EXPECT_EQ(s.event_type, "trade.executed");
  EXPECT_EQ(s.connection, "close");

  // "t=<seconds>,v1=<hex>": recomputed from the t it carries, and t is about now.
  ASSERT_EQ(s.signature.rfind("t=", 0), 0u) << s.signature;
  const auto comma = s.signature.find(',');
  ASSERT_NE(comma, std::string::npos) << s.signature;
  const std::int64_t t = std::stoll(s.signature.substr(2, comma - 2));
  EXPECT_EQ(s.signature, webhook_signature(secret, t, request.body));
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  EXPECT_LE(std::abs(now - t), 60);
  sender.stop();
}

TEST(WebhookSender, ServerErrorIsNotDelivered) {
  loopback_server server(answer_by_target);
  webhook_sender sender(2s, /*allow_private=*/true);
  sender.start();
  result_slot slot;
  sender.send(make_request(1, server.url("/fail")), slot.done());
  const webhook_result r = slot.wait();
  EXPECT_FALSE(r.delivered);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.error, "HTTP 500");
}

TEST(WebhookSender, SlowAnswerTimesOut) {
  loopback_server server(answer_by_target);
  webhook_sender sender(300ms, /*allow_private=*/true);
  sender.start();
  result_slot slot;
  const auto before = std::chrono::steady_clock::now();
  sender.send(make_request(1, server.url("/hang")), slot.done());
  const webhook_result r = slot.wait();
  const auto waited = std::chrono::steady_clock::now() - before;
  EXPECT_FALSE(r.delivered);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.error.find("timed out"), std::string::npos) << r.error;
  EXPECT_GE(r.took, 280ms);
  EXPECT_LT(r.took, 1000ms);
  EXPECT_LT(waited, 1000ms);
}

TEST(WebhookSender, ClosedPortIsNotDelivered) {
  webhook_sender sender(2s, /*allow_private=*/true);
  sender.start();
  result_slot slot;
  sender.send(make_request(1, "http://127.0.0.1:" + std::to_string(closed_port()) + "/"),
              slot.done());
  const webhook_result r = slot.wait();
  EXPECT_FALSE(r.delivered);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.error.find("connect"), std::string::npos) << r.error;
}

TEST(WebhookSender, SlowEndpointDoesNotDelayAFastOne) {
  loopback_server server(answer_by_target);
  webhook_sender sender(5s, /*allow_private=*/true);
  sender.start();
  std::mutex mutex;
  std::vector<std::uint64_t> order;
  result_slot slow;
  result_slot fast;
  const auto record = [&](std::function<void(webhook_result)> inner) {
    return [&, inner = std::move(inner)](webhook_result r) {
      {
        const std::lock_guard lock(mutex);
        order.push_back(r.delivery_id);
      }
      inner(std::move(r));
    };
  };
  sender.send(make_request(1, server.url("/slow")), record(slow.done()));
  sender.send(make_request(2, server.url("/fast")), record(fast.done()));

  const webhook_result f = fast.wait();
  const webhook_result s = slow.wait();
  EXPECT_TRUE(f.delivered) << f.error;
  EXPECT_TRUE(s.delivered) << s.error;
  EXPECT_LT(f.took, 1000ms);
  EXPECT_GE(s.took, 1400ms);
  sender.stop();
  const std::lock_guard lock(mutex);
  EXPECT_EQ(order, (std::vector<std::uint64_t>{2, 1}));
}

TEST(WebhookSender, StopEndsWhatIsInFlight) {
  loopback_server server(answer_by_target);
  webhook_sender sender(5s, /*allow_private=*/true);
  sender.start();
  result_slot slot;
  sender.send(make_request(1, server.url("/hang")), slot.done());
  ASSERT_TRUE(server.wait_for_requests(1));
  EXPECT_EQ(sender.in_flight(), 1u);

  const auto before = std::chrono::steady_clock::now();
  sender.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 1000ms);
  const webhook_result r = slot.wait();
  EXPECT_FALSE(r.delivered);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "stopped");
  EXPECT_EQ(sender.in_flight(), 0u);
  sender.stop();  // idempotent

  // Stopped: `done` runs inline.
  result_slot after;
  sender.send(make_request(2, server.url("/")), after.done());
  const webhook_result a = after.wait();
  EXPECT_FALSE(a.delivered);
  EXPECT_EQ(a.error, "stopped");
}

TEST(WebhookSender, BadUrlFailsInline) {
  webhook_sender sender;
  sender.start();
  result_slot slot;
  sender.send(make_request(3, "ftp://127.0.0.1/"), slot.done());
  const webhook_result r = slot.wait();
  EXPECT_EQ(r.delivery_id, 3u);
  EXPECT_FALSE(r.delivered);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error.rfind("bad URL: ", 0), 0u) << r.error;
}

// Without allow_private, a name that resolves only to loopback addresses is refused after
// the lookup: nothing connects, whatever the name said when the URL was registered.
TEST(WebhookSender, APrivateDestinationIsRefusedAfterTheLookup) {
  loopback_server server(answer_by_target);
  webhook_sender sender(2s);
  sender.start();
  for (const std::string host : {"localhost", "127.0.0.1", "[::1]"}) {
    result_slot slot;
    sender.send(make_request(5, "http://" + host + ":" + std::to_string(server.port()) + "/"),
                slot.done());
    const webhook_result r = slot.wait();
    EXPECT_FALSE(r.delivered) << host;
    EXPECT_EQ(r.status, 0) << host;
    EXPECT_EQ(r.error.rfind("refused: ", 0), 0u) << host << ": " << r.error;
  }
  EXPECT_TRUE(server.seen().empty()) << "a request reached the loopback server";
}

TEST(WebhookSender, RestartsAfterStop) {
  loopback_server server(answer_by_target);
  webhook_sender sender(2s, /*allow_private=*/true);
  sender.start();
  sender.stop();
  sender.start();
  result_slot slot;
  sender.send(make_request(4, server.url("/")), slot.done());
  EXPECT_TRUE(slot.wait().delivered);
}

}  // namespace
}  // namespace matchd::event_export
