#include "http_connection.h"

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <charconv>
#include <chrono>

#include "load_worker.h"

namespace matchd::load {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {
constexpr std::uint64_t kBodyLimit = 64ull << 20;
}  // namespace

http_connection::http_connection(load_worker& owner, unsigned id)
    : connection(owner, id), socket_(owner.context()) {
  head_.reserve(256);
  body_.reserve(512);
}

void http_connection::open() {
  socket_.async_connect(owner_.plan().target,
                        [this](const boost::system::error_code& ec) { on_connect(ec); });
}

void http_connection::on_connect(const boost::system::error_code& ec) {
  if (is_closed()) return;
  if (ec) return fail(true);
  boost::system::error_code ignored;
  socket_.set_option(net::ip::tcp::no_delay(true), ignored);
  connected();
  pump();
}

void http_connection::pump() {
  if (!is_connected() || busy_ || is_closed()) return;
  const std::int64_t now = clock_ns();
  if (!owner_.take_request(*this, now, ticket_)) return;
  busy_ = true;
  const load_plan& plan = owner_.plan();
  body_.clear();
  plan.orders->append_body(ticket_.index, body_);
  head_.clear();
  head_ += "POST ";
  head_ += plan.config->http_path;
  head_ += " HTTP/1.1\r\nHost: ";
  head_ += plan.host_header;
  if (const std::string& key = plan.key_of(id()); !key.empty()) {
    head_ += "\r\nAuthorization: Bearer ";
    head_ += key;
  }
  head_ += "\r\nContent-Type: application/json\r\nContent-Length: ";
  char digits[24];
  const auto r = std::to_chars(digits, digits + sizeof digits, body_.size());
  head_.append(digits, r.ptr);
  head_ += "\r\n\r\n";
  const std::array<net::const_buffer, 2> buffers{net::buffer(head_), net::buffer(body_)};
  net::async_write(socket_, buffers,
                   [this](const boost::system::error_code& ec, std::size_t) { on_write(ec); });
}

void http_connection::on_write(const boost::system::error_code& ec) {
  if (is_closed()) return;
  if (ec) return fail(false);
  parser_.emplace();
  parser_->body_limit(kBodyLimit);
  http::async_read(socket_, buffer_, *parser_,
                   [this](const boost::system::error_code& e, std::size_t) { on_read(e); });
}

void http_connection::on_read(const boost::system::error_code& ec) {
  if (is_closed()) return;
  if (ec) return fail(false);
  const int status = parser_->status();
  const bool keep_alive = parser_->keep_alive();
  busy_ = false;
  owner_.answered(ticket_, status, clock_ns());
  if (!keep_alive) return reopen();
  pump();
}

void http_connection::fail(bool during_connect) {
  if (busy_) {
    busy_ = false;
    owner_.lost(ticket_);
  }
  failed(during_connect);
}

void http_connection::drop_transport() {
  boost::system::error_code ignored;
  socket_.close(ignored);
  buffer_.clear();
  parser_.reset();
}

}  // namespace matchd::load
