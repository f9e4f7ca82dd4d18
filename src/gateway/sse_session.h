#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "connection_limits.h"
#include "io_thread.h"

namespace matchd::gateway {

// A GET /stream/sse event stream: the http_session that read and validated the request
// hands its socket over, as it does for a WebSocket upgrade. The session subscribes to the
// publish stage and writes the 200 head only when the subscription is confirmed (the
// stage's first frame, the ": subscribed sequence=N" comment), so every event after the
// head reaches the client. Frames are written one at a time; a client that lets more than
// the subscriber buffer's worth pile up, or that the publish stage evicts, is closed. A
// comment line every 15 s keeps a quiet stream open through proxies. Anything the client
// sends, or its hanging up, ends the stream; the subscription is dropped on destruction.
// What an event stream subscribes to, and for whom.
struct sse_subscription {
  engine::instrument_id instrument = 0;
  std::uint8_t channels = 0;          // bus::channel bits
  std::uint8_t candle_intervals = 0;  // bus::read_query::candle_intervals
  engine::client_scope scope;         // the key's clients (null: any)
  engine::client_id client;           // only this client's orders, when set
  auth::key_id key = 0;               // the key it was opened with (0: none)
};

class sse_session : public session_base, public std::enable_shared_from_this<sse_session> {
 public:
  sse_session(boost::asio::ip::tcp::socket&& socket, io_thread& io, connection_ticket ticket);
  ~sse_session() override;

  void run(const sse_subscription& sub);
  void on_delivery(bus::io_delivery&& d) override;
  void shutdown() override;
  // A quiet stream is not idle (the heartbeat keeps it busy), but a write the client has not
  // taken for --idle-timeout closes it: a reader that stopped reading, or a peer gone.
  void check_idle(std::chrono::steady_clock::time_point now) override;
  // A stream opened with a revoked key ends.
  void keys_revoked(const std::vector<auth::key_id>& ids) override;

 private:
  void write_next();
  void heartbeat();
  void close();

  boost::asio::ip::tcp::socket socket_;
  io_thread& io_;
  connection_ticket ticket_;
  boost::asio::steady_timer heartbeat_timer_;
  std::chrono::steady_clock::time_point write_started_{};  // of the write in flight
  std::uint64_t token_ = 0;
  engine::instrument_id instrument_ = 0;
  auth::key_id key_ = 0;
  bool subscribed_ = false;  // the subscribe query was queued: drop it on destruction
  std::deque<std::shared_ptr<const std::string>> queue_;  // the head first, then frames
  bool writing_ = false;
  bool closed_ = false;
  std::array<char, 512> read_buffer_{};  // what the client sends, read only to notice EOF
};

}  // namespace matchd::gateway
