#include "sse_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>

#include "http_client.h"

namespace matchd::e2e {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

}  // namespace

struct sse_client::impl {
  // Runs handlers until `done()` or the deadline.
  template <class Done>
  void run_until(Done&& done, clock_type::time_point deadline) {
    while (!done() && clock_type::now() < deadline) {
      if (ioc.stopped()) ioc.restart();
      if (ioc.run_one_until(deadline) == 0 && ioc.stopped() && !reading) return;
    }
  }

  void ensure_reading() {
    if (reading || ended) return;
    reading = true;
    http::async_read_some(socket, buffer, parser, [this](beast::error_code ec, std::size_t) {
      reading = false;
      if (ec) {
        ended = true;
        end_error = ec.message();
        return;
      }
      split_frames();
      if (parser.is_done()) {
        ended = true;
        return;
      }
      ensure_reading();
    });
  }

  // Moves complete frames ("...\n\n") from the decoded body into `events`.
  void split_frames() {
    std::string& body = parser.get().body();
    received += body.size();
    for (char c : body) {
      if (c != '\r') pending += c;
    }
    body.clear();
    std::size_t start = 0;
    std::size_t end = 0;
    while ((end = pending.find("\n\n", start)) != std::string::npos) {
      const std::string frame = pending.substr(start, end - start);
      start = end + 2;
      event e;
      bool has_field = false;
      bool has_comment = false;
      std::size_t pos = 0;
      while (pos <= frame.size()) {
        std::size_t nl = frame.find('\n', pos);
        if (nl == std::string::npos) nl = frame.size();
        const std::string line = frame.substr(pos, nl - pos);
        pos = nl + 1;
        if (line.empty()) continue;
        if (line[0] == ':') {
          if (!e.comment.empty()) e.comment += '\n';
          e.comment += line.substr(line.size() > 1 && line[1] == ' ' ? 2 : 1);
          has_comment = true;
          continue;
        }
        const std::size_t colon = line.find(':');
        const std::string field = line.substr(0, colon);
        std::string value = colon == std::string::npos ? std::string() : line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.erase(0, 1);
        if (field == "event") {
          e.event = value;
          has_field = true;
        } else if (field == "id") {
          e.id = value;
          has_field = true;
        } else if (field == "data") {
          if (!e.data.empty()) e.data += '\n';
          e.data += value;
          has_field = true;
        }
      }
      if (!has_field && !(has_comment && keep_comments)) continue;
      if (has_field && e.event.empty()) e.event = "message";
      events.push_back(std::move(e));
    }
    pending.erase(0, start);
  }

  net::io_context ioc;
  tcp::socket socket{ioc};
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  std::string pending;
  std::string error_body;
  std::deque<event> events;
  bool keep_comments = false;
  bool reading = false;
  bool ended = false;
  std::string end_error;
  std::size_t received = 0;
};

sse_client::sse_client(std::uint16_t port, const std::string& target, const options& opts)
    : impl_(std::make_unique<impl>()) {
  impl& s = *impl_;
  s.parser.body_limit(boost::none);
  s.keep_comments = opts.comments;
  const std::chrono::milliseconds timeout = opts.timeout;
  s.socket.open(tcp::v4());
  if (opts.receive_buffer_bytes) {
    s.socket.set_option(net::socket_base::receive_buffer_size(*opts.receive_buffer_bytes));
  }
  const auto deadline = clock_type::now() + timeout;
  bool done = false;
  beast::error_code result = net::error::timed_out;
  const tcp::endpoint endpoint(net::ip::make_address_v4("127.0.0.1"), port);
  auto req = std::make_shared<http::request<http::empty_body>>(http::verb::get, target, 11);
  req->set(http::field::host, "127.0.0.1:" + std::to_string(port));
  req->set(http::field::accept, "text/event-stream");
  s.reading = true;  // outstanding work
  s.socket.async_connect(endpoint, [&](beast::error_code ec) {
    if (ec) {
      result = ec;
      done = true;
      return;
    }
    http::async_write(s.socket, *req, [&](beast::error_code wec, std::size_t) {
      if (wec) {
        result = wec;
        done = true;
        return;
      }
      http::async_read_header(s.socket, s.buffer, s.parser,
                              [&](beast::error_code rec, std::size_t) {
                                result = rec;
                                done = true;
                              });
    });
  });
  s.run_until([&] { return done; }, deadline);
  s.reading = false;
  if (!done || result) {
    beast::error_code ignored;
    s.socket.close(ignored);
    throw transport_error("SSE GET " + target +
                          " failed: " + (done ? result.message() : std::string("timed out")));
  }
  if (s.parser.get().result_int() != 200) {
    // Not a stream: read the (bounded) error body.
    bool body_done = false;
    http::async_read(s.socket, s.buffer, s.parser,
                     [&](beast::error_code, std::size_t) { body_done = true; });
    s.reading = true;
    s.run_until([&] { return body_done; }, clock_type::now() + timeout);
    s.reading = false;
    s.error_body = s.parser.get().body();
    s.ended = true;
  }
}

sse_client::sse_client(std::uint16_t port, const std::string& target,
                       std::chrono::milliseconds timeout)
    : sse_client(port, target, [timeout] {
        options opts;
        opts.timeout = timeout;
        return opts;
      }()) {}

sse_client::~sse_client() {
  beast::error_code ignored;
  impl_->socket.close(ignored);
}

unsigned sse_client::status() const noexcept {
  return impl_->parser.get().result_int();
}

std::string sse_client::header(const std::string& name) const {
  const auto& fields = impl_->parser.get();
  const auto it = fields.find(name);
  return it == fields.end() ? std::string() : std::string(it->value());
}

std::string sse_client::body() const {
  return impl_->error_body;
}

std::optional<sse_client::event> sse_client::next(std::chrono::milliseconds timeout) {
  impl& s = *impl_;
  if (s.events.empty()) {
    if (s.parser.get().body().size() > 0) s.split_frames();
    s.ensure_reading();
    s.run_until([&] { return !s.events.empty() || s.ended; }, clock_type::now() + timeout);
  }
  if (s.events.empty()) return std::nullopt;
  event e = std::move(s.events.front());
  s.events.pop_front();
  return e;
}

bool sse_client::ended() const noexcept {
  return impl_->ended;
}

const std::string& sse_client::end_error() const noexcept {
  return impl_->end_error;
}

std::size_t sse_client::bytes_received() const noexcept {
  return impl_->received + impl_->parser.get().body().size();
}

}  // namespace matchd::e2e
