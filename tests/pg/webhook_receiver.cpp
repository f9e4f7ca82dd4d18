#include "webhook_receiver.h"

#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>
#include <system_error>
#include <utility>

namespace matchd::pgtest {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// How long the accept loop sleeps between looks at its stop flag: the most close() waits.
constexpr int kAcceptPollMs = 20;

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

webhook_receiver::received to_received(const http::request<http::string_body>& request) {
  webhook_receiver::received r;
  r.method = std::string(request.method_string());
  r.target = std::string(request.target());
  for (const auto& field : request) {
    const auto [it, inserted] =
        r.headers.emplace(lowercase(field.name_string()), std::string(field.value()));
    if (!inserted) it->second.append(", ").append(field.value());
  }
  r.body = request.body();
  return r;
}

}  // namespace

webhook_receiver::webhook_receiver(behaviour behave) : behave_(std::move(behave)), acceptor_(io_) {
  const tcp::endpoint at(asio::ip::address_v4::loopback(), 0);
  acceptor_.open(at.protocol());
  acceptor_.bind(at);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  // The accept loop polls with a timeout instead of blocking in accept(), so close() needs no
  // cross-thread call on the acceptor (asio objects are not safe to share between threads).
  acceptor_.non_blocking(true);
  port_ = acceptor_.local_endpoint().port();
  accept_thread_ = std::thread(&webhook_receiver::accept_loop, this);
}

webhook_receiver::~webhook_receiver() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stopping_cv_.notify_all();
  close();
  // No connection starts any more. Shutting the sockets down ends any read or write in
  // progress (a peer that connected and says nothing would otherwise hold us forever).
  std::vector<std::thread> threads;
  {
    const std::lock_guard lock(mutex_);
    for (auto& [id, c] : connections_) {
      if (c.fd >= 0) ::shutdown(c.fd, SHUT_RDWR);
      threads.push_back(std::move(c.thread));
    }
  }
  for (std::thread& t : threads) {
    if (t.joinable()) t.join();
  }
}

std::string webhook_receiver::url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

std::vector<webhook_receiver::received> webhook_receiver::requests() const {
  const std::lock_guard lock(mutex_);
  return requests_;
}

std::size_t webhook_receiver::count() const {
  const std::lock_guard lock(mutex_);
  return requests_.size();
}

void webhook_receiver::close() {
  const std::lock_guard lock(close_mutex_);
  stop_accepting_ = true;
  // The accept thread closes the acceptor as it ends: once joined, the port is closed.
  if (accept_thread_.joinable()) accept_thread_.join();
}

void webhook_receiver::accept_loop() {
  while (!stop_accepting_) {
    pollfd pfd{};
    pfd.fd = acceptor_.native_handle();
    pfd.events = POLLIN;
    const int ready = ::poll(&pfd, 1, kAcceptPollMs);
    reap_finished();
    if (ready <= 0 || stop_accepting_) continue;
    tcp::socket socket(io_);
    beast::error_code ec;
    acceptor_.accept(socket, ec);
    if (ec) {
      // would_block: the peer went away between poll and accept. Anything else (out of
      // descriptors) would make poll report ready at once again: pause instead of spinning.
      if (ec != asio::error::would_block) {
        std::this_thread::sleep_for(std::chrono::milliseconds(kAcceptPollMs));
      }
      continue;
    }
    // The thread is started under the lock, so it is in its slot before it can finish.
    const std::lock_guard lock(mutex_);
    const std::uint64_t id = next_connection_id_++;
    connection& slot = connections_[id];
    slot.fd = socket.native_handle();
    try {
      slot.thread = std::thread(&webhook_receiver::serve, this, id, std::move(socket));
    } catch (const std::system_error&) {  // no thread: the socket went with it, unanswered
      connections_.erase(id);
    }
  }
  beast::error_code ignored;
  acceptor_.close(ignored);
}

void webhook_receiver::reap_finished() {
  std::vector<std::thread> done;
  {
    const std::lock_guard lock(mutex_);
    for (const std::uint64_t id : finished_) {
      const auto it = connections_.find(id);
      done.push_back(std::move(it->second.thread));
      connections_.erase(it);
    }
    finished_.clear();
  }
  // Each of these has only its return left to do.
  for (std::thread& t : done) t.join();
}

void webhook_receiver::serve(std::uint64_t id, tcp::socket socket) {
  try {
    beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    parser.body_limit(kBodyLimit);
    beast::error_code ec;
    http::read(socket, buffer, parser, ec);
    if (!ec) {
      received r = to_received(parser.get());
      r.at = std::chrono::steady_clock::now();
      std::size_t n = 0;
      {
        const std::lock_guard lock(mutex_);
        n = requests_.size();
        requests_.push_back(r);
      }
      const reply answer = behave_ ? behave_(n, r) : reply{};
      bool stopping = false;
      {
        std::unique_lock lock(mutex_);
        stopping = stopping_cv_.wait_for(lock, answer.delay, [this] { return stopping_; });
      }
      if (!stopping) {  // else the receiver is going away: the reply is cut short, unsent
        http::response<http::string_body> response;
        response.version(parser.get().version());
        response.result(answer.status);  // throws past 999: dropped like a throwing behave
        response.set(http::field::content_type, "text/plain");
        response.keep_alive(false);
        response.body() =
            std::to_string(answer.status) + " " + std::string(response.reason()) + "\n";
        response.prepare_payload();
        http::write(socket, response, ec);
        socket.shutdown(tcp::socket::shutdown_send, ec);
      }
    }
  } catch (...) {  // NOLINT(bugprone-empty-catch): a test helper's thread must not terminate
  }
  // Close under the lock with the descriptor forgotten, so the destructor never shuts down a
  // number the kernel has already handed to someone else.
  const std::lock_guard lock(mutex_);
  beast::error_code ignored;
  socket.close(ignored);
  connections_[id].fd = -1;
  finished_.push_back(id);
}

}  // namespace matchd::pgtest
