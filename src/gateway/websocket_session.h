#pragma once

#include <matchd/codec/errors.h>
#include <matchd/net/ordered_write_stream.h>
#include <matchd/net/read_ahead_stream.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "connection_limits.h"
#include "io_thread.h"

namespace matchd::gateway {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

// How a /stream connection's messages go out (docs/api.md, "Batched delivery").
struct stream_delivery {
  bool batched = false;  // in JSON arrays, one per write
  // Batched: the least time from one write to the next while less than a full write (64 KiB)
  // is waiting, so that a busy stream costs its reader a few large arrays a second instead of
  // hundreds of small ones. Zero: whatever is ready goes at once.
  std::chrono::milliseconds interval{0};
};

// A /stream WebSocket: market-data subscriptions and order entry on the same socket.
// Outgoing frames (or, batched, arrays of messages) collect in an outbox that goes to the socket in
// one write, after the handler that filled it (an I/O thread's drain hands over every answer that
// is ready at once), with one write in flight; while it is on its way the next outbox fills. A
// client that lets more than the subscriber buffer's worth of messages (or 32 MiB of them) pile up
// is closed with 1008 rather than slowing anything else down: the frames not yet handed to
// the socket are dropped, the write on its way (whole frames, at most 64 KiB) finishes, then
// the close frame goes out; a peer that has not read it within a deadline loses the TCP
// connection without it.
class websocket_session : public session_base,
                          public std::enable_shared_from_this<websocket_session> {
 public:
  // `key`: the key of the upgrade's headers (--auth keys), null without one; a first
  // message {"op":"auth","key":"<secret>"} may give one later. `delivery`: what the upgrade
  // asked for (/stream?batch=true&batch_interval_ms=N).
  websocket_session(beast::tcp_stream&& stream, io_thread& io, connection_ticket ticket,
                    std::shared_ptr<auth::principal> key, stream_delivery delivery);
  ~websocket_session() override;

  void run(beast::http::request<beast::http::string_body> upgrade);
  void on_delivery(bus::io_delivery&& d) override;
  void shutdown() override;
  // Closes a message left unfinished past --ws-message-timeout (silence itself is Beast's
  // keep-alive: see run()).
  void check_idle(std::chrono::steady_clock::time_point now) override;
  // A session authenticated by a revoked key is closed with 1008 "key revoked".
  void keys_revoked(const std::vector<auth::key_id>& ids) override;

 private:
  struct pending_reply {
    std::string type;    // "place" | "cancel" | "amend" | "cancel_all"
    std::string req_id;  // as JSON text, echoed verbatim
  };

  void on_accept(beast::error_code ec);
  void do_read();
  void on_read(beast::error_code ec, std::size_t bytes);
  void handle(std::string_view text);
  // {"op":"auth","key":"<secret>"}: answered {"type":"auth","status":200} or 401.
  void authenticate(const nlohmann::json& msg, const std::string& req_id);
  // {"op":"cancel_all","client_id":...,"instrument":...}: a mass cancel.
  void cancel_all(const nlohmann::json& msg, std::string req_id);
  // cancel_on_disconnect: whether an order of `client` may be placed (false after answering
  // when the session already covers kMaxDisconnectClients others), and, once it is
  // admitted, the client remembered for the mass cancels at the session's end.
  bool room_on_disconnect(const engine::client_id& client, const std::string& req_id);
  void cover_on_disconnect(const engine::client_id& client);
  void cancel_on_disconnect();
  // With --auth keys, whether the session's key allows `needs`; if not, answers the error
  // (401 without a key, 403 with one) as `type` and returns false.
  bool permitted(auth::access needs, std::string_view type, const std::string& req_id);
  void send(std::string_view message);
  void send_error(std::string_view type, const std::string& req_id, const codec::api_error& e,
                  int retry_after = 0);
  void flush();
  // Batched: the open array becomes one text frame of the outbox.
  void seal_batch();
  // Paced: true while what waits must wait for the interval to pass (then the pace timer
  // flushes it).
  bool held_back();
  // Bytes not yet handed to the socket: the outbox's frames and the open array.
  std::size_t waiting_bytes() const { return outbox_.size() - outbox_head_ + open_batch_.size(); }
  // Of the outbox's frames, the messages in its first `frames` (each frame one message,
  // unbatched), forgotten as they leave.
  std::size_t take_messages(std::size_t frames);
  void drop_unsent();
  void close_with(websocket::close_reason reason, std::chrono::seconds grace);
  void close_slow();
  void hard_close();

  // Data frames go past Beast (which writes one message per write) in batches; the layer
  // under it keeps Beast's own pongs and close frames from landing inside a batch. Below
  // that, reads take what the socket holds in chunks, not Beast's 1,536 bytes at a time.
  websocket::stream<
      matchd::net::ordered_write_stream<matchd::net::read_ahead_stream<beast::tcp_stream>>>
      ws_;
  io_thread& io_;
  connection_ticket ticket_;
  beast::flat_buffer buffer_;
  boost::asio::steady_timer close_timer_;
  // Messages read so far, and the count and time when the idle sweep first saw the message
  // after them unfinished: a message is timed from there (to within the sweep's second).
  std::uint64_t messages_read_ = 0;
  std::uint64_t unfinished_after_ = 0;
  std::optional<std::chrono::steady_clock::time_point> unfinished_since_;
  std::uint64_t token_ = 0;
  // Whole frames not yet handed to the socket: those from outbox_head_ on (a backlog goes
  // out kMaxWriteBytes at a time).
  std::string outbox_;
  std::size_t outbox_head_ = 0;
  // Messages waiting (in the outbox and, batched, in the open array) and on the wire: the
  // subscriber buffer counts messages, however they are framed.
  std::size_t outbox_messages_ = 0;
  std::size_t messages_on_the_wire_ = 0;
  std::size_t bytes_on_the_wire_ = 0;
  // Batched: messages collect in one open JSON array ("[m1,m2") until the next write takes
  // them (or it reaches kMaxWriteBytes), so each write carries one array of everything that
  // was ready; sealed_messages_ holds the message count of each frame in the outbox.
  stream_delivery delivery_;
  std::string open_batch_;
  std::size_t open_batch_messages_ = 0;
  std::deque<std::size_t> sealed_messages_;
  // Paced (delivery_.interval): when the last write started, and the timer that flushes
  // what waited for the interval.
  std::chrono::steady_clock::time_point last_write_{};
  boost::asio::steady_timer pace_timer_;
  bool pace_armed_ = false;
  std::string reply_;  // the answer being built, reused
  std::deque<pending_reply> pending_;
  std::vector<engine::instrument_id> subscribed_;
  std::shared_ptr<auth::principal> key_;  // null: no key (yet)
  // Opted in by {"op":"auth",...,"cancel_on_disconnect":true}: when the session ends while
  // the server runs, every open order of each client it placed an order for since then is
  // cancelled (one mass cancel per client).
  bool cancel_on_disconnect_ = false;
  std::vector<engine::client_id> disconnect_clients_;
  bool writing_ = false;
  bool flush_posted_ = false;
  bool closing_ = false;
  bool evicted_ = false;         // closing as too slow
  bool close_reported_ = false;  // how the slow subscriber's close ended is logged
};

}  // namespace matchd::gateway
