#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http_client.h"

namespace matchd::e2e {

// A TCP connection to 127.0.0.1:port from a chosen loopback address (all of 127.0.0.0/8 is
// this machine), spoken to in bytes: for per-address limits, for clients that misbehave on
// purpose (never read, never answer a ping, stop half-way through a message) and for
// requests no HTTP library would write (ambiguous framing, folded headers, a header sent
// without its body). Nothing is read except inside read_until, read_response and
// wait_closed. Every call is bounded by its timeout; failures to connect or send throw
// transport_error. Not thread-safe.
class raw_connection {
 public:
  explicit raw_connection(std::uint16_t port, const std::string& source_address = "127.0.0.1",
                          std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ~raw_connection();
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  void send(std::string_view bytes);
  // Reads until what was received contains `marker`, the peer closes or `timeout` passes;
  // returns everything received so far.
  const std::string& read_until(std::string_view marker, std::chrono::milliseconds timeout);
  // The next response not yet returned: status line, headers and a Content-Length body (an
  // interim 1xx response has none). nullopt when no whole response arrived within `timeout`
  // or the server closed the connection first (see peer_closed()).
  std::optional<http_response> read_response(std::chrono::milliseconds timeout);
  // Reads (and keeps) until the peer closes the connection (end of stream or reset);
  // whether it did within `timeout`.
  bool wait_closed(std::chrono::milliseconds timeout);
  [[nodiscard]] const std::string& received() const noexcept { return received_; }
  [[nodiscard]] bool peer_closed() const noexcept { return peer_closed_; }
  // What was received after the last response read_response returned.
  [[nodiscard]] std::string_view unread() const noexcept {
    return std::string_view(received_).substr(responses_end_);
  }
  void close() noexcept;

 private:
  // One read of what is there within `timeout`; false when nothing came.
  bool read_some(std::chrono::milliseconds timeout);

  int fd_ = -1;
  std::string received_;
  std::size_t responses_end_ = 0;  // the end in received_ of the responses returned
  bool peer_closed_ = false;
};

// "127.0.0.<n>".
std::string loopback(int n);
// GET `target` over HTTP/1.1, keep-alive.
std::string get_request(std::string_view target);
// The status code of the HTTP response at the start of `text`; 0 when there is none.
unsigned status_of(std::string_view text);
// A WebSocket upgrade request for /stream.
std::string websocket_upgrade_request();
// A client frame (masked, payload under 126 bytes).
std::string client_frame(std::uint8_t opcode, bool fin, std::string_view payload);
// The close code of the first close frame in what a server sent after its 101 head;
// 0 when there is none.
int close_code_of(std::string_view received);

}  // namespace matchd::e2e
