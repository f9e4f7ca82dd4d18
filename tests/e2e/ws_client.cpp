#include "ws_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>

#include "http_client.h"

namespace matchd::e2e {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

}  // namespace

std::string ws_client::close_info::describe() const {
  if (!closed) return "still open";
  if (close_frame) {
    return "closed by the server with code " + std::to_string(code) + " reason \"" + reason +
           "\" after " + std::to_string(discarded) + " discarded messages";
  }
  return "connection lost without a close frame (" + error + ") after " +
         std::to_string(discarded) + " discarded messages";
}

struct ws_client::impl {
  explicit impl(std::uint16_t p) : port(p) {
    ws.control_callback([this](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::pong) ++pongs;
    });
  }

  // Keeps exactly one read outstanding from the first pump on; its handler queues the
  // message and starts the next one, so reading happens only while the io_context runs.
  void ensure_reading() {
    if (reading || state.closed) return;
    reading = true;
    ws.async_read(buffer, [this](beast::error_code ec, std::size_t bytes) {
      reading = false;
      if (ec) {
        state.closed = true;
        if (ec == websocket::error::closed) {
          state.close_frame = true;
          state.code = ws.reason().code;
          state.reason = std::string(ws.reason().reason.data(), ws.reason().reason.size());
        } else {
          state.error = ec.message();
        }
        return;
      }
      ++messages;
      total_bytes += bytes;
      if (discard) {
        ++state.discarded;
      } else {
        inbox.push_back(beast::buffers_to_string(buffer.data()));
      }
      buffer.consume(buffer.size());
      ensure_reading();
    });
  }

  // Runs handlers until `done()` or the deadline; returns done().
  template <class Done>
  bool run_until(Done&& done, clock_type::time_point deadline) {
    while (!done()) {
      if (ioc.stopped()) ioc.restart();
      const auto now = clock_type::now();
      if (now >= deadline) return done();
      if (ioc.run_one_until(deadline) == 0 && ioc.stopped() && !reading && !writing) {
        // No outstanding work: nothing can make `done` true anymore.
        return done();
      }
    }
    return true;
  }

  // Starts one write with `start(done)` and waits for it; throws transport_error on failure
  // or timeout (and then drops the connection).
  template <class Start>
  void write(const char* what, std::chrono::milliseconds timeout, Start&& start) {
    if (state.closed) {
      throw transport_error(std::string("WebSocket ") + what + " after close: " + state.describe());
    }
    bool done = false;
    beast::error_code result;
    writing = true;
    start([&done, &result](beast::error_code ec) {
      result = ec;
      done = true;
    });
    run_until([&] { return done; }, clock_type::now() + timeout);
    writing = false;
    if (!done) {
      beast::get_lowest_layer(ws).socket().close(result);
      state.closed = true;
      state.error = std::string(what) + " timed out";
      throw transport_error(std::string("WebSocket ") + what + " timed out");
    }
    if (result) {
      throw transport_error(std::string("WebSocket ") + what + " failed: " + result.message());
    }
  }

  std::optional<std::string> next(std::chrono::milliseconds timeout) {
    ensure_reading();
    run_until([&] { return !inbox.empty() || state.closed; }, clock_type::now() + timeout);
    if (inbox.empty()) return std::nullopt;
    std::string text = std::move(inbox.front());
    inbox.pop_front();
    return text;
  }

  std::uint16_t port;
  net::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buffer;
  std::deque<std::string> inbox;
  bool reading = false;
  bool writing = false;
  bool discard = false;
  std::size_t messages = 0;
  std::size_t total_bytes = 0;
  std::size_t pongs = 0;
  close_info state;
};

ws_client::ws_client(std::uint16_t port, options opts) : impl_(std::make_unique<impl>(port)) {
  impl& s = *impl_;
  auto& socket = beast::get_lowest_layer(s.ws).socket();
  socket.open(tcp::v4());
  if (opts.receive_buffer_bytes) {
    socket.set_option(net::socket_base::receive_buffer_size(*opts.receive_buffer_bytes));
  }
  const tcp::endpoint endpoint(net::ip::make_address_v4("127.0.0.1"), port);
  const auto deadline = clock_type::now() + opts.connect_timeout;
  beast::error_code result = net::error::timed_out;
  bool done = false;
  beast::get_lowest_layer(s.ws).expires_after(opts.connect_timeout);
  beast::get_lowest_layer(s.ws).async_connect(endpoint, [&](beast::error_code ec) {
    if (ec) {
      result = ec;
      done = true;
      return;
    }
    beast::get_lowest_layer(s.ws).socket().set_option(tcp::no_delay(true));
    if (!opts.headers.empty()) {
      s.ws.set_option(
          websocket::stream_base::decorator([headers = opts.headers](websocket::request_type& req) {
            for (const auto& [name, value] : headers) req.set(name, value);
          }));
    }
    s.ws.async_handshake("127.0.0.1:" + std::to_string(port), opts.target,
                         [&](beast::error_code hec) {
                           result = hec;
                           done = true;
                         });
  });
  s.writing = true;  // the handshake is outstanding work
  s.run_until([&] { return done; }, deadline + std::chrono::seconds(1));
  s.writing = false;
  if (!done || result) {
    beast::get_lowest_layer(s.ws).close();
    throw transport_error("WebSocket connect to 127.0.0.1:" + std::to_string(port) + opts.target +
                          " failed: " + (done ? result.message() : std::string("timed out")));
  }
  // From here on, time limits come from the calls' deadlines, not from the stream.
  beast::get_lowest_layer(s.ws).expires_never();
  s.ws.text(true);
}

ws_client::~ws_client() {
  beast::error_code ignored;
  beast::get_lowest_layer(impl_->ws).socket().close(ignored);
}

void ws_client::send_text(std::string_view text, std::chrono::milliseconds timeout) {
  auto payload = std::make_shared<std::string>(text);
  impl_->write("send", timeout, [&](auto done) {
    impl_->ws.async_write(net::buffer(*payload),
                          [done, payload](beast::error_code ec, std::size_t) { done(ec); });
  });
}

void ws_client::send_ping(std::chrono::milliseconds timeout) {
  impl_->write("ping", timeout, [&](auto done) { impl_->ws.async_ping({}, done); });
}

std::size_t ws_client::pongs_received() const noexcept {
  return impl_->pongs;
}

void ws_client::send_json(const nlohmann::json& message, std::chrono::milliseconds timeout) {
  send_text(message.dump(), timeout);
}

std::optional<std::string> ws_client::read_text(std::chrono::milliseconds timeout) {
  return impl_->next(timeout);
}

std::optional<nlohmann::json> ws_client::read_json(std::chrono::milliseconds timeout) {
  std::optional<std::string> text = impl_->next(timeout);
  if (!text) return std::nullopt;
  return nlohmann::json::parse(*text, nullptr, false);
}

std::optional<nlohmann::json> ws_client::read_until(
    const std::function<bool(const nlohmann::json&)>& match, std::chrono::milliseconds timeout,
    std::vector<nlohmann::json>* skipped) {
  const auto deadline = clock_type::now() + timeout;
  for (std::size_t i = 0; i < 10'000'000; ++i) {
    const auto now = clock_type::now();
    if (now >= deadline) break;
    std::optional<nlohmann::json> message =
        read_json(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
    if (!message) break;
    if (match(*message)) return message;
    if (skipped != nullptr) skipped->push_back(std::move(*message));
  }
  return std::nullopt;
}

std::vector<nlohmann::json> ws_client::read_for(std::chrono::milliseconds duration) {
  std::vector<nlohmann::json> out;
  const auto deadline = clock_type::now() + duration;
  for (std::size_t i = 0; i < 10'000'000; ++i) {
    const auto now = clock_type::now();
    if (now >= deadline) break;
    std::optional<nlohmann::json> message =
        read_json(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
    if (!message) {
      if (closed()) break;
      continue;
    }
    out.push_back(std::move(*message));
  }
  return out;
}

ws_client::close_info ws_client::drain_until_closed(std::chrono::milliseconds timeout) {
  impl& s = *impl_;
  s.state.discarded += s.inbox.size();
  s.inbox.clear();
  s.discard = true;
  s.ensure_reading();
  s.run_until([&] { return s.state.closed; }, clock_type::now() + timeout);
  s.discard = false;
  return s.state;
}

void ws_client::pump(std::chrono::milliseconds duration, const std::function<bool()>& until) {
  impl& s = *impl_;
  s.ensure_reading();
  s.run_until([&] { return s.state.closed || (until && until()); }, clock_type::now() + duration);
}

std::size_t ws_client::pending() const noexcept {
  return impl_->inbox.size();
}
void ws_client::clear_pending() noexcept {
  impl_->inbox.clear();
}
std::size_t ws_client::messages_received() const noexcept {
  return impl_->messages;
}
std::size_t ws_client::bytes_received() const noexcept {
  return impl_->total_bytes;
}
bool ws_client::closed() const noexcept {
  return impl_->state.closed;
}
const ws_client::close_info& ws_client::close_state() const noexcept {
  return impl_->state;
}

void ws_client::close() {
  impl& s = *impl_;
  if (s.state.closed) return;
  bool done = false;
  s.writing = true;
  s.ws.async_close(websocket::close_code::normal, [&](beast::error_code) { done = true; });
  // The close completes when the server's close frame is read, which needs a read.
  s.run_until([&] { return done; }, clock_type::now() + std::chrono::seconds(2));
  s.writing = false;
  beast::error_code ignored;
  beast::get_lowest_layer(s.ws).socket().close(ignored);
  s.state.closed = true;
}

}  // namespace matchd::e2e
