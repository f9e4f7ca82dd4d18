#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace matchd::e2e {

// A TCP connection to 127.0.0.1:port from a chosen loopback address (all of 127.0.0.0/8 is
// this machine), spoken to in bytes: for per-address limits and for clients that misbehave
// on purpose (never read, never answer a ping, stop half-way through a message). Nothing
// is read except inside read_until and wait_closed. Every call is bounded by its timeout;
// failures to connect or send throw transport_error. Not thread-safe.
class raw_connection {
 public:
  raw_connection(std::uint16_t port, const std::string& source_address,
                 std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ~raw_connection();
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  void send(std::string_view bytes);
  // Reads until what was received contains `marker`, the peer closes or `timeout` passes;
  // returns everything received so far.
  const std::string& read_until(std::string_view marker, std::chrono::milliseconds timeout);
  // Reads (and keeps) until the peer closes the connection (end of stream or reset);
  // whether it did within `timeout`.
  bool wait_closed(std::chrono::milliseconds timeout);
  [[nodiscard]] const std::string& received() const noexcept { return received_; }
  [[nodiscard]] bool peer_closed() const noexcept { return peer_closed_; }
  void close() noexcept;

 private:
  // One read of what is there within `timeout`; false when nothing came.
  bool read_some(std::chrono::milliseconds timeout);

  int fd_ = -1;
  std::string received_;
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
