#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace matchd::e2e {

// Server-Sent Events client for GET <target> on 127.0.0.1:port (chunked or not). Reads only
// while next() runs; every call is bounded by its timeout. Not thread-safe.
class sse_client {
 public:
  struct event {
    std::string event;  // "message" when the frame names none
    std::string id;
    std::string data;  // data lines joined with '\n'
  };

  // Connects, sends the request and reads the response header; throws transport_error.
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

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace matchd::e2e
