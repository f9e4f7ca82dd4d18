#include <matchd/export/webhook_destination.h>
#include <matchd/export/webhook_sender.h>
#include <matchd/export/webhook_signature.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <pthread.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <unordered_set>
#include <vector>

namespace matchd::event_export {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using steady_clock = std::chrono::steady_clock;
using done_function = std::function<void(webhook_result)>;

namespace {

// Linux keeps 15 bytes of a thread name and pthread_setname_np refuses a longer one
// outright, so "matchd-webhook-io" would leave the thread unnamed.
constexpr char kThreadName[] = "matchd-webhook";
constexpr std::string_view kUserAgent = "matchd-webhooks/1";
constexpr std::uint64_t kResponseBodyLimit = 64 * 1024;
constexpr std::string_view kStopped = "stopped";

// Results carry one line: they end up in logs and in the deliveries table.
std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

webhook_result make_result(std::uint64_t delivery_id, int status, std::string error,
                           steady_clock::time_point started) {
  webhook_result result;
  result.delivery_id = delivery_id;
  result.status = status;
  result.delivered = error.empty();
  result.error = one_line(std::move(error));
  result.took =
      std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - started);
  return result;
}

std::int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::optional<webhook_url> parse_webhook_url(std::string_view url, std::string* why) {
  if (url.size() > kMaxWebhookUrlBytes) {
    if (why != nullptr) *why = "longer than 2048 bytes";
    return std::nullopt;
  }
  return net::parse_url(url, net::kHttpSchemes, why);
}

namespace {

class session_base;

// What the sessions share with the sender. The live set is touched on the sender's thread
// only; in_flight from any thread.
struct session_registry {
  std::atomic<std::size_t> in_flight{0};
  std::unordered_set<session_base*> live;
  bool allow_private = false;  // set before the thread starts
};

// One delivery, from resolve to `done`. Owned by its pending handlers (shared_from_this):
// it ends when the last of them has run. All of its functions run on the sender's thread.
// finish() is the one way out: it closes everything, so handlers still pending complete
// (with operation_aborted) and return without doing anything more.
class session_base : public std::enable_shared_from_this<session_base> {
 public:
  session_base(asio::io_context& io, session_registry& registry, webhook_request request,
               webhook_url url, steady_clock::time_point started, std::chrono::milliseconds timeout)
      : url_(std::move(url)),
        deadline_(started + timeout),
        registry_(registry),
        delivery_id_(request.delivery_id),
        started_(started),
        timeout_(timeout),
        resolver_(io),
        resolve_timer_(io) {
    parser_.body_limit(kResponseBodyLimit);
    build_request(std::move(request));
  }
  virtual ~session_base() = default;
  session_base(const session_base&) = delete;
  session_base& operator=(const session_base&) = delete;

  // `done` is taken here, not by the constructor, so a constructor that throws leaves it
  // with the caller to answer.
  void run(done_function done) {
    done_ = std::move(done);
    registry_.live.insert(this);
    // The resolver has no timeout of its own; the stream's deadline starts at connect.
    resolve_timer_.expires_at(deadline_);
    resolve_timer_.async_wait([self = shared_from_this(), this](beast::error_code ec) {
      if (ec || finished_) return;
      finish(0, "resolve: timed out after " + std::to_string(timeout_.count()) + " ms");
    });
    resolver_.async_resolve(
        url_.host, url_.port,
        [self = shared_from_this(), this](beast::error_code ec, tcp::resolver::results_type r) {
          if (finished_) return;
          if (ec) return fail("resolve", ec);
          resolve_timer_.cancel();
          // Each address the name has now, whatever it had when the URL was registered.
          std::vector<tcp::endpoint> endpoints;
          for (const auto& entry : r) {
            if (registry_.allow_private || is_public_address(entry.endpoint().address())) {
              endpoints.push_back(entry.endpoint());
            }
          }
          if (endpoints.empty()) {
            return finish(0, "refused: " + url_.host +
                                 " resolves only to loopback, private or reserved addresses "
                                 "(--webhook-allow-private)");
          }
          connect(endpoints);
        });
  }

  void abort() { finish(0, std::string(kStopped)); }

 protected:
  virtual void connect(const std::vector<tcp::endpoint>& endpoints) = 0;
  // Closes the stream, which cancels its pending operations. Must not throw.
  virtual void close_stream() noexcept = 0;
  // Detail for a failed step, beyond the error code's message ("" for none).
  virtual std::string failure_detail() { return {}; }

  void fail(std::string_view step, const beast::error_code& ec) {
    std::string error(step);
    error += ": ";
    if (ec == beast::error::timeout) {
      error += "timed out after " + std::to_string(timeout_.count()) + " ms";
    } else {
      error += ec.message();
      if (const std::string detail = failure_detail(); !detail.empty()) {
        error += " (" + detail + ")";
      }
    }
    finish(0, std::move(error));
  }

  // The status counts once the header is in: a body cut short or over the limit afterwards
  // does not change what the receiver answered.
  void on_read(const beast::error_code& ec) {
    if (finished_) return;
    if (!parser_.is_header_done()) return fail("read", ec);
    const int status = static_cast<int>(parser_.get().result_int());
    finish(status,
           status >= 200 && status < 300 ? std::string() : "HTTP " + std::to_string(status));
  }

  void finish(int status, std::string error) noexcept {
    if (finished_) return;
    finished_ = true;
    resolve_timer_.cancel();
    resolver_.cancel();
    close_stream();
    registry_.live.erase(this);
    registry_.in_flight.fetch_sub(1, std::memory_order_relaxed);
    webhook_result result = make_result(delivery_id_, status, std::move(error), started_);
    done_function done = std::move(done_);
    if (done) done(std::move(result));
  }

  bool finished() const noexcept { return finished_; }

  const webhook_url url_;
  const steady_clock::time_point deadline_;
  http::request<http::string_body> request_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;

 private:
  void build_request(webhook_request request) {
    request_.version(11);
    request_.method(http::verb::post);
    request_.target(url_.target);
    request_.set(http::field::host, url_.host_header());
    request_.set(http::field::content_type, "application/json");
    request_.set(http::field::user_agent, kUserAgent);
    request_.set("Matchd-Signature",
                 webhook_signature(request.secret, unix_seconds_now(), request.body));
    request_.set("Matchd-Event-Id", request.event_id);
    request_.set("Matchd-Event-Type", request.event_type);
    request_.set(http::field::connection, "close");
    request_.body() = std::move(request.body);
    request_.prepare_payload();
  }

  session_registry& registry_;
  const std::uint64_t delivery_id_;
  done_function done_;
  const steady_clock::time_point started_;
  const std::chrono::milliseconds timeout_;
  tcp::resolver resolver_;
  asio::steady_timer resolve_timer_;
  bool finished_ = false;
};

template <class Stream>
class session final : public session_base {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <class... StreamArgs>
  session(asio::io_context& io, session_registry& registry, webhook_request request,
          webhook_url url, steady_clock::time_point started, std::chrono::milliseconds timeout,
          StreamArgs&&... stream_args)
      : session_base(io, registry, std::move(request), std::move(url), started, timeout),
        stream_(io, std::forward<StreamArgs>(stream_args)...) {}

 private:
  void connect(const std::vector<tcp::endpoint>& endpoints) override {
    // One deadline for connect, handshake, write and read together.
    beast::get_lowest_layer(stream_).expires_at(deadline_);
    beast::get_lowest_layer(stream_).async_connect(
        endpoints, [self = shared_from_this(), this](beast::error_code ec, const tcp::endpoint&) {
          if (finished()) return;
          if (ec) return fail("connect", ec);
          if constexpr (kTls) {
            handshake();
          } else {
            write();
          }
        });
  }

  void handshake() {
    SSL* tls = stream_.native_handle();
    const char* host = url_.host.c_str();
    boost::system::error_code not_an_address;
    asio::ip::make_address(url_.host, not_an_address);
    // SNI carries names only (RFC 6066); an address is checked against the certificate's IP
    // SANs. The checks are OpenSSL's own, made during chain verification, so a mismatch is
    // reported as a verify result ("hostname mismatch") rather than a bare failure.
    // SSL_set_tlsext_host_name, spelled out: the macro hides a C-style cast.
    const bool set = not_an_address
                         ? SSL_ctrl(tls, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                                    const_cast<char*>(host)) == 1 &&
                               SSL_set1_host(tls, host) == 1
                         : X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(tls), host) == 1;
    if (!set) return finish(0, "TLS: cannot set the host to verify: " + url_.host);
    stream_.async_handshake(ssl::stream_base::client,
                            [self = shared_from_this(), this](beast::error_code ec) {
                              if (finished()) return;
                              if (ec) return fail("TLS handshake", ec);
                              write();
                            });
  }

  void write() {
    http::async_write(
        stream_, request_, [self = shared_from_this(), this](beast::error_code ec, std::size_t) {
          if (finished()) return;
          if (ec) return fail("write", ec);
          http::async_read(
              stream_, buffer_, parser_,
              [self, this](beast::error_code read_ec, std::size_t) { on_read(read_ec); });
        });
  }

  void close_stream() noexcept override {
    // No TLS close_notify: the request said Connection: close and the answer is in (or the
    // exchange failed); waiting on the peer's close_notify would only hold the deadline.
    beast::error_code ignored;
    auto& socket = beast::get_lowest_layer(stream_).socket();
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).close();
  }

  std::string failure_detail() override {
    if constexpr (kTls) {
      // Why the certificate was refused, which the handshake's error alone does not say.
      const long verify = SSL_get_verify_result(stream_.native_handle());
      if (verify != X509_V_OK) return X509_verify_cert_error_string(verify);
    }
    return {};
  }

  Stream stream_;
};

using plain_session = session<beast::tcp_stream>;
using tls_session = session<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace

// The sender's machinery, kept out of the header so its users do not compile Beast.
class webhook_sender::state {
 public:
  state(std::chrono::milliseconds timeout, bool allow_private) : timeout_(timeout) {
    registry_.allow_private = allow_private;
    tls_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    tls_.set_default_verify_paths();
    tls_.set_verify_mode(ssl::verify_peer);
  }

  void start() {
    const std::lock_guard lock(mutex_);
    if (running_) return;
    io_.restart();
    guard_.emplace(io_.get_executor());
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), kThreadName);
      io_.run();
    });
    running_ = true;
  }

  void stop() {
    {
      const std::lock_guard lock(mutex_);
      if (!running_) return;
      running_ = false;
      // Runs after every send posted before it (the io_context runs handlers in order on
      // one thread), so each of those sessions is live by then and gets its "stopped".
      asio::post(io_, [this] { abort_all(); });
      guard_.reset();
    }
    thread_.join();
  }

  void send(webhook_request request, done_function done) {
    const auto started = steady_clock::now();
    std::string why;
    std::optional<webhook_url> url = parse_webhook_url(request.url, &why);
    if (!url) {
      if (done) done(make_result(request.delivery_id, 0, "bad URL: " + why, started));
      return;
    }
    std::unique_lock lock(mutex_);
    if (!running_) {
      lock.unlock();
      if (done) done(make_result(request.delivery_id, 0, std::string(kStopped), started));
      return;
    }
    registry_.in_flight.fetch_add(1, std::memory_order_relaxed);
    try {
      asio::post(io_, [this, request = std::move(request), url = std::move(*url),
                       done = std::move(done), started]() mutable {
        launch(std::move(request), std::move(url), std::move(done), started);
      });
    } catch (...) {
      registry_.in_flight.fetch_sub(1, std::memory_order_relaxed);
      throw;
    }
  }

  [[nodiscard]] std::size_t in_flight() const noexcept {
    return registry_.in_flight.load(std::memory_order_relaxed);
  }

 private:
  // On the sender's thread.
  void launch(webhook_request request, webhook_url url, done_function done,
              steady_clock::time_point started) {
    const std::uint64_t delivery_id = request.delivery_id;
    std::shared_ptr<session_base> s;
    try {
      if (url.tls) {
        s = std::make_shared<tls_session>(io_, registry_, std::move(request), std::move(url),
                                          started, timeout_, tls_);
      } else {
        s = std::make_shared<plain_session>(io_, registry_, std::move(request), std::move(url),
                                            started, timeout_);
      }
    } catch (const std::exception& e) {
      registry_.in_flight.fetch_sub(1, std::memory_order_relaxed);
      if (done) done(make_result(delivery_id, 0, std::string("setup: ") + e.what(), started));
      return;
    }
    s->run(std::move(done));
  }

  // On the sender's thread. Copies the live set first: each abort leaves it.
  void abort_all() {
    std::vector<std::shared_ptr<session_base>> sessions;
    sessions.reserve(registry_.live.size());
    for (session_base* s : registry_.live) sessions.push_back(s->shared_from_this());
    for (const auto& s : sessions) s->abort();
  }

  const std::chrono::milliseconds timeout_;
  // Before io_: sessions left in the io_context's queue hold SSL objects made from it.
  ssl::context tls_{ssl::context::tls_client};
  asio::io_context io_{1};
  session_registry registry_;
  std::mutex mutex_;  // guards running_, guard_ and thread_ (start/stop against send)
  bool running_ = false;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
};

webhook_sender::webhook_sender(std::chrono::milliseconds timeout, bool allow_private)
    : state_(std::make_unique<state>(timeout, allow_private)) {}

webhook_sender::~webhook_sender() {
  stop();
}

void webhook_sender::start() {
  state_->start();
}

void webhook_sender::stop() {
  state_->stop();
}

void webhook_sender::send(webhook_request request, std::function<void(webhook_result)> done) {
  state_->send(std::move(request), std::move(done));
}

std::size_t webhook_sender::in_flight() const noexcept {
  return state_->in_flight();
}

}  // namespace matchd::event_export
