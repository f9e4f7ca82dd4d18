#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http_client.h"

namespace matchd::e2e {

// A TCP connection to 127.0.0.1:port that sends exactly the bytes it is given, for requests
// no HTTP library would write (ambiguous framing, folded headers, a header sent without its
// body). Every read is bounded by its timeout. Not thread-safe.
class raw_connection {
 public:
  explicit raw_connection(std::uint16_t port);
  ~raw_connection();
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  // Writes all of `bytes`; throws transport_error.
  void send(std::string_view bytes);

  // The next response: status line, headers and a Content-Length body (an interim 1xx
  // response has none). nullopt when no whole response arrived within `timeout` or the
  // server closed the connection first (see closed()).
  std::optional<http_response> read_response(std::chrono::milliseconds timeout);

  // Whether the server ends the connection (end of stream or reset) within `timeout`;
  // bytes that arrive meanwhile are kept (see unread()).
  bool wait_closed(std::chrono::milliseconds timeout);
  [[nodiscard]] bool closed() const noexcept { return closed_; }
  // Bytes received and not yet returned as a response.
  [[nodiscard]] const std::string& unread() const noexcept { return in_; }

 private:
  // Reads what arrives within `timeout` (at most until the deadline) into in_; false on
  // timeout or close.
  bool read_more(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string in_;
  bool closed_ = false;
};

}  // namespace matchd::e2e
