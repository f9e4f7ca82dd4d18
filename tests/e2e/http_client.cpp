#include "http_client.h"

#include <strings.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace matchd::e2e {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

bool is_connection_gone(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::error::connection_aborted;
}

}  // namespace

nlohmann::json http_response::json() const {
  return nlohmann::json::parse(body, nullptr, false);
}

std::string http_response::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && ::strncasecmp(key.data(), name.data(), key.size()) == 0) {
      return value;
    }
  }
  return {};
}

bool http_response::has_header(std::string_view name) const {
  for (const auto& entry : headers) {
    const std::string& key = entry.first;
    if (key.size() == name.size() && ::strncasecmp(key.data(), name.data(), key.size()) == 0) {
      return true;
    }
  }
  return false;
}

std::string http_response::describe() const {
  return "HTTP " + std::to_string(status) + " " + body;
}

struct http_client::impl {
  impl(std::uint16_t p, std::chrono::milliseconds t) : port(p), timeout(t) {}

  // Runs one asynchronous operation to completion on the private io_context. The stream's
  // expiry bounds it; run_for is a second bound in case the operation ignores it.
  template <class Start>
  beast::error_code run(Start&& start_op, std::size_t* bytes = nullptr) {
    beast::error_code result = net::error::timed_out;
    bool done = false;
    stream.expires_after(timeout);
    start_op([&](beast::error_code ec, auto... args) {
      result = ec;
      done = true;
      if constexpr (sizeof...(args) == 1) {
        if (bytes != nullptr) *bytes = static_cast<std::size_t>((args + ...));
      }
    });
    ioc.restart();
    ioc.run_for(timeout + std::chrono::seconds(1));
    if (!done) {
      stream.close();
      ioc.restart();
      ioc.run_for(std::chrono::seconds(1));
      return net::error::timed_out;
    }
    return result;
  }

  void connect() {
    if (open) return;
    buffer.clear();
    const tcp::endpoint endpoint(net::ip::make_address_v4("127.0.0.1"), port);
    const beast::error_code ec =
        run([&](auto handler) { stream.async_connect(endpoint, std::move(handler)); });
    if (ec) {
      stream.close();
      throw transport_error("connect to 127.0.0.1:" + std::to_string(port) +
                            " failed: " + ec.message());
    }
    stream.socket().set_option(tcp::no_delay(true));
    open = true;
  }

  void close() {
    if (!open) return;
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
    open = false;
    buffer.clear();
  }

  std::uint16_t port;
  std::chrono::milliseconds timeout;
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bool open = false;
};

http_client::http_client(std::uint16_t port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>(port, timeout)) {}
http_client::~http_client() = default;
http_client::http_client(http_client&&) noexcept = default;
http_client& http_client::operator=(http_client&&) noexcept = default;

void http_client::connect() {
  impl_->connect();
}
void http_client::close() {
  impl_->close();
}
bool http_client::is_open() const noexcept {
  return impl_->open;
}
void http_client::set_timeout(std::chrono::milliseconds timeout) noexcept {
  impl_->timeout = timeout;
}
std::uint16_t http_client::port() const noexcept {
  return impl_->port;
}

http_response http_client::request(std::string_view method, std::string_view target,
                                   std::string_view body, const header_list& headers) {
  http::request<http::string_body> req;
  const http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) {
    req.method_string(method);
  } else {
    req.method(verb);
  }
  req.target(target);
  req.version(11);
  req.set(http::field::host, "127.0.0.1:" + std::to_string(impl_->port));
  for (const auto& [name, value] : headers) req.insert(name, value);
  req.body() = std::string(body);
  req.keep_alive(true);
  req.prepare_payload();
  if (body.empty() && (verb == http::verb::get || verb == http::verb::delete_)) {
    req.erase(http::field::content_length);
  }

  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = impl_->open;
    impl_->connect();
    const beast::error_code write_ec = impl_->run(
        [&](auto handler) { http::async_write(impl_->stream, req, std::move(handler)); });
    if (write_ec && !is_connection_gone(write_ec)) {
      impl_->close();
      throw transport_error(std::string(method) + " " + std::string(target) +
                            ": write failed: " + write_ec.message());
    }
    // Even after a failed write the server may have answered (for example 413 before
    // reading the whole body), so the response is read regardless.
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    parser.header_limit(64u << 10);
    std::size_t bytes = 0;
    const beast::error_code read_ec = impl_->run(
        [&](auto handler) {
          http::async_read(impl_->stream, impl_->buffer, parser, std::move(handler));
        },
        &bytes);
    if (!read_ec) {
      const auto& res = parser.get();
      http_response out;
      out.status = res.result_int();
      for (const auto& field : res) {
        out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      }
      out.body = res.body();
      if (!res.keep_alive()) impl_->close();
      return out;
    }
    const bool nothing_received = !parser.got_some() && bytes == 0;
    impl_->close();
    if (reused && nothing_received &&
        (is_connection_gone(read_ec) || is_connection_gone(write_ec))) {
      continue;
    }
    throw transport_error(std::string(method) + " " + std::string(target) +
                          ": no response: " + read_ec.message() +
                          (write_ec ? " (write: " + write_ec.message() + ")" : std::string()));
  }
  throw transport_error(std::string(method) + " " + std::string(target) +
                        ": connection closed twice before any response");
}

http_response http_client::post_json(std::string_view target, const nlohmann::json& body,
                                     const header_list& headers) {
  header_list all = headers;
  all.emplace_back("Content-Type", "application/json");
  return request("POST", target, body.dump(), all);
}

http_response http_client::get(std::string_view target) {
  return request("GET", target);
}

http_response http_client::del(std::string_view target) {
  return request("DELETE", target);
}

}  // namespace matchd::e2e
