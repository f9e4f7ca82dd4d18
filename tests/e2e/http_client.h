#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace matchd::e2e {

using header_list = std::vector<std::pair<std::string, std::string>>;

// A request that got no HTTP response: connect, write or read failed or timed out.
class transport_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct http_response {
  unsigned status = 0;
  header_list headers;  // in arrival order, names as sent
  std::string body;

  // The body parsed as JSON; a discarded value (is_discarded()) when it is not JSON.
  [[nodiscard]] nlohmann::json json() const;
  // First header with this name (case-insensitive), "" when absent.
  [[nodiscard]] std::string header(std::string_view name) const;
  [[nodiscard]] bool has_header(std::string_view name) const;
  // "HTTP <status> <body>" for assertion messages.
  [[nodiscard]] std::string describe() const;
};

// Synchronous HTTP/1.1 keep-alive client for 127.0.0.1:port, one connection, reconnecting
// when the server closed it. Every operation is bounded by the timeout. A request on a
// reused connection that the server had already closed (no byte of response) is retried
// once on a fresh connection. Not thread-safe: one client per thread.
class http_client {
 public:
  static constexpr std::chrono::milliseconds kDefaultTimeout{10000};

  explicit http_client(std::uint16_t port, std::chrono::milliseconds timeout = kDefaultTimeout);
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;
  http_client(http_client&&) noexcept;
  http_client& operator=(http_client&&) noexcept;

  // Sends exactly the given headers (plus Host, Content-Length); throws transport_error.
  http_response request(std::string_view method, std::string_view target,
                        std::string_view body = {}, const header_list& headers = {});
  // POST with Content-Type: application/json.
  http_response post_json(std::string_view target, const nlohmann::json& body,
                          const header_list& headers = {});
  http_response get(std::string_view target);
  http_response del(std::string_view target);

  // Opens the connection now (requests do it lazily); throws transport_error.
  void connect();
  void close();
  [[nodiscard]] bool is_open() const noexcept;
  void set_timeout(std::chrono::milliseconds timeout) noexcept;
  [[nodiscard]] std::uint16_t port() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace matchd::e2e
