#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace matchd::e2e {

// Synchronous WebSocket client for ws://127.0.0.1:port/stream (or another target).
//
// Messages are read only while a read_* / pump call runs: between calls nothing is read, so
// a client that is never pumped behaves like a stalled subscriber (its socket buffers fill
// and the server has to cope). Every call is bounded by its timeout. Not thread-safe.
class ws_client {
 public:
  struct options {
    std::string target = "/stream";
    // SO_RCVBUF set before connecting; small values make a stalled reader stall sooner.
    std::optional<int> receive_buffer_bytes;
    std::chrono::milliseconds connect_timeout{10000};
    // Extra headers of the upgrade request (e.g. Authorization).
    std::vector<std::pair<std::string, std::string>> headers;
  };

  // How the server ended the connection.
  struct close_info {
    bool closed = false;        // the connection is gone
    bool close_frame = false;   // and the server sent a close frame
    int code = 0;               // its close code (1008 = policy violation)
    std::string reason;         // its reason text
    std::string error;          // the read error otherwise (eof, reset, ...)
    std::size_t discarded = 0;  // messages thrown away by drain_until_closed
    [[nodiscard]] std::string describe() const;
  };

  ws_client(std::uint16_t port, options opts);
  explicit ws_client(std::uint16_t port) : ws_client(port, options{}) {}
  ~ws_client();
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  // Sends one text message; throws transport_error on failure or timeout.
  void send_text(std::string_view text, std::chrono::milliseconds timeout = kSendTimeout);
  void send_json(const nlohmann::json& message, std::chrono::milliseconds timeout = kSendTimeout);
  // Sends a ping control frame; the server's pongs are counted as they are read.
  void send_ping(std::chrono::milliseconds timeout = kSendTimeout);
  [[nodiscard]] std::size_t pongs_received() const noexcept;

  // The next message, or nullopt when none arrived within `timeout` or the server closed
  // the connection (see closed()).
  std::optional<std::string> read_text(std::chrono::milliseconds timeout);
  // As read_text, parsed; a message that is not JSON comes back as a discarded value.
  std::optional<nlohmann::json> read_json(std::chrono::milliseconds timeout);
  // Reads until a message satisfies `match` and returns it; earlier messages are appended to
  // `skipped` when given. nullopt on timeout or close.
  std::optional<nlohmann::json> read_until(const std::function<bool(const nlohmann::json&)>& match,
                                           std::chrono::milliseconds timeout,
                                           std::vector<nlohmann::json>* skipped = nullptr);
  // Every message that arrives within `duration` (does not stop early).
  std::vector<nlohmann::json> read_for(std::chrono::milliseconds duration);

  // Reads and throws away messages until the server closes the connection or `timeout`.
  close_info drain_until_closed(std::chrono::milliseconds timeout);

  // Reads for up to `duration` without consuming the inbox; returns early once `until`
  // (if given) holds. Used to keep a subscriber current while measuring its traffic.
  void pump(std::chrono::milliseconds duration, const std::function<bool()>& until = {});
  // Messages read but not yet returned.
  [[nodiscard]] std::size_t pending() const noexcept;
  void clear_pending() noexcept;

  [[nodiscard]] std::size_t messages_received() const noexcept;
  [[nodiscard]] std::size_t bytes_received() const noexcept;
  [[nodiscard]] bool closed() const noexcept;
  [[nodiscard]] const close_info& close_state() const noexcept;

  // Sends a normal close frame and waits (bounded) for the server's; then drops the socket.
  void close();

  static constexpr std::chrono::milliseconds kSendTimeout{5000};

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace matchd::e2e
