#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace matchd::e2e {

// Server-Sent Events client for GET <target> on 127.0.0.1:port (chunked or not). Reads only
// while next() runs: between calls nothing is read, so a client that is never read from
// behaves like a stalled subscriber. Every call is bounded by its timeout. Not thread-safe.
class sse_client {
 public:
  struct options {
    std::chrono::milliseconds timeout{5000};  // connect, request and response header
    // SO_RCVBUF set before connecting; small values make a stalled reader stall sooner.
    std::optional<int> receive_buffer_bytes;
    // Frames of comment lines only (": text") come back from next() as events named "";
    // otherwise they are skipped, as EventSource does.
    bool comments = false;
  };

  struct event {
    std::string event;  // "message" when the frame names none; "" for a comment frame
    std::string id;
    std::string data;     // data lines joined with '\n'
    std::string comment;  // comment lines without ':' and one space, joined with '\n'
  };

  // Connects, sends the request and reads the response header; throws transport_error.
  sse_client(std::uint16_t port, const std::string& target, const options& opts);
  sse_client(std::uint16_t port, const std::string& target,
             std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  ~sse_client();
  sse_client(const sse_client&) = delete;
  sse_client& operator=(const sse_client&) = delete;

  [[nodiscard]] unsigned status() const noexcept;
  [[nodiscard]] std::string header(const std::string& name) const;
  // The body so far, when the server answered with an error instead of a stream.
  [[nodiscard]] std::string body() const;

  // The next complete event, or nullopt on timeout or end of stream (see ended()).
  std::optional<event> next(std::chrono::milliseconds timeout);
  [[nodiscard]] bool ended() const noexcept;
  // Once ended(): empty when the server closed the stream in order (EOF), else the read
  // error that ended it ("Connection reset by peer", ...).
  [[nodiscard]] const std::string& end_error() const noexcept;
  // Body bytes received so far.
  [[nodiscard]] std::size_t bytes_received() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace matchd::e2e
