#include "listener.h"

#include <matchd/codec/errors.h>
#include <matchd/obs/logger.h>

#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <random>

#include "descriptor_budget.h"
#include "http_session.h"

namespace matchd::gateway {

namespace net = boost::asio;

namespace {

constexpr std::chrono::milliseconds kFirstRetry{10};
constexpr std::chrono::milliseconds kLongestRetry{1000};
constexpr std::chrono::seconds kWarningInterval{5};
// How long a refused connection is kept open for its client to read the answer and hang up.
constexpr std::chrono::seconds kRefusalLinger{1};

std::shared_ptr<const std::string> refusal(const std::string& message) {
  const std::string body =
      codec::error_body(codec::make_error(codec::api_errc::overloaded, message));
  return std::make_shared<const std::string>(
      "HTTP/1.1 503 Service Unavailable\r\nServer: matchd\r\nContent-Type: "
      "application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n" + body);
}

// A refused connection after its answer was written: what the client sends is read and
// dropped until it hangs up, so that closing sends a FIN, not a reset that could destroy the
// answer before the client reads it.
struct lingering_close : std::enable_shared_from_this<lingering_close> {
  lingering_close(net::ip::tcp::socket s, std::shared_ptr<std::atomic<std::size_t>> count)
      : socket(std::move(s)), timer(socket.get_executor()), lingering(std::move(count)) {}
  ~lingering_close() { lingering->fetch_sub(1, std::memory_order_relaxed); }

  void start(std::shared_ptr<const std::string> text) {
    answer = std::move(text);
    timer.expires_after(kRefusalLinger);
    timer.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->close();
    });
    net::async_write(socket, net::buffer(*answer),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->close();
                       self->socket.shutdown(net::ip::tcp::socket::shutdown_send, ec);
                       self->drain();
                     });
  }
  void drain() {
    socket.async_read_some(net::buffer(sink),
                           [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             if (ec) return self->close();
                             self->drain();
                           });
  }
  void close() {
    timer.cancel();
    beast::error_code ignored;
    socket.close(ignored);
  }

  net::ip::tcp::socket socket;
  net::steady_timer timer;
  std::shared_ptr<std::atomic<std::size_t>> lingering;
  std::shared_ptr<const std::string> answer;
  std::array<char, 1024> sink{};
};

}  // namespace

listener::listener(std::vector<io_thread*> threads, const net::ip::tcp::endpoint& endpoint)
    : threads_(std::move(threads)),
      acceptor_(threads_.front()->context()),
      retry_timer_(threads_.front()->context()),
      backoff_(kFirstRetry, kLongestRetry, bus::jitter::equal, std::random_device{}()),
      accept_warnings_(kWarningInterval),
      refusal_warnings_(kWarningInterval),
      over_cap_answer_(refusal("the server's connection limit is reached; retry shortly")),
      over_address_answer_(
          refusal("too many connections from this address (--max-connections-per-address)")),
      lingering_(std::make_shared<std::atomic<std::size_t>>(0)) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(net::socket_base::max_listen_connections);
}

void listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    beast::error_code ec;
    self->acceptor_.close(ec);
    self->retry_timer_.cancel();
  });
}

void listener::do_accept() {
  io_thread* target = threads_[next_++ % threads_.size()];
  acceptor_.async_accept(target->context(), [self = shared_from_this(), target](
                                                beast::error_code ec, net::ip::tcp::socket socket) {
    self->on_accept(target, ec, std::move(socket));
  });
}

void listener::on_accept(io_thread* target, beast::error_code ec, net::ip::tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) return on_accept_failed(ec);
  backoff_.reset();
  admit(target, std::move(socket));
  do_accept();
}

void listener::on_accept_failed(const beast::error_code& ec) {
  const std::chrono::milliseconds pause = backoff_.next();
  std::uint64_t suppressed = 0;
  if (accept_warnings_.allow(suppressed)) {
    obs::logger("gateway")->warn(
        "accept failed: {}; retrying in {} ms (up to {} ms); {} more failures since the last "
        "such line",
        ec.message(), pause.count(), kLongestRetry.count(), suppressed);
  }
  retry_timer_.expires_after(pause);
  retry_timer_.async_wait([self = shared_from_this()](beast::error_code timer_ec) {
    if (timer_ec || !self->acceptor_.is_open()) return;
    self->do_accept();
  });
}

void listener::admit(io_thread* target, net::ip::tcp::socket socket) {
  gateway_context& ctx = target->ctx();
  beast::error_code ec;
  const net::ip::tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return;  // the client is gone already; the socket closes here
  connection_ticket ticket;
  switch (ctx.limits.admit(peer.address(), ticket)) {
    case admission::over_cap:
      ctx.probe.connection_refused();
      log_refusal("the connection cap and its reserve are full", peer.address());
      return refuse(target, std::move(socket), over_cap_answer_);
    case admission::over_address_limit:
      ctx.probe.connection_refused();
      log_refusal("the address holds --max-connections-per-address", peer.address());
      return refuse(target, std::move(socket), over_address_answer_);
    case admission::admitted:
    case admission::reserve_only:
      break;
  }
  socket.set_option(net::ip::tcp::no_delay(true), ec);
  // The session is created and run on its own I/O thread.
  net::post(target->context(), [target, s = std::move(socket), t = std::move(ticket)]() mutable {
    std::make_shared<http_session>(std::move(s), *target, std::move(t))->run();
  });
}

void listener::log_refusal(const char* why, const net::ip::address& peer) {
  std::uint64_t suppressed = 0;
  if (refusal_warnings_.allow(suppressed)) {
    obs::logger("gateway")->warn(
        "connection refused: {} peer={}; {} more refusals since the last such line", why,
        peer.to_string(), suppressed);
  }
}

void listener::refuse(io_thread* target, net::ip::tcp::socket socket,
                      std::shared_ptr<const std::string> answer) {
  if (lingering_->fetch_add(1, std::memory_order_relaxed) >= kMaxLingeringRefusals) {
    // Too many refusals in progress: no answer, the descriptor is needed more.
    lingering_->fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  // On the connection's own I/O thread, like every session.
  net::post(target->context(), [s = std::move(socket), a = std::move(answer),
                                count = lingering_]() mutable {
    std::make_shared<lingering_close>(std::move(s), std::move(count))->start(std::move(a));
  });
}

}  // namespace matchd::gateway
