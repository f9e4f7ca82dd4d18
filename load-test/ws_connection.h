#pragma once

#include <matchd/net/ordered_write_stream.h>
#include <matchd/net/read_ahead_stream.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connection.h"
#include "load_plan.h"

namespace matchd::load {

// A WebSocket on /stream entering orders as {"op":"place","req_id":N, <fixture fields>},
// pipelined: up to --max-inflight requests on the socket at once, a read always pending,
// one write in flight carrying every order that is due (masked frames built here, since
// Beast writes one message per write; Beast still reads, and its pongs and close frames
// queue behind the batch in ordered_write_stream). Answers
// ({"type":"place","req_id":N,"status":S,...}) are matched by req_id in a ring of slots
// indexed by N, so they may come in any order. A failure loses everything in flight
// (counted) and reconnects.
class ws_connection final : public connection {
 public:
  ws_connection(load_worker& owner, unsigned id);

  void pump() override;
  [[nodiscard]] std::uint64_t in_flight() const noexcept override { return in_flight_; }

 private:
  struct slot {
    std::uint64_t req_id = 0;
    request_ticket ticket;
    bool used = false;
  };

  void open() override;
  void drop_transport() override;
  void on_connect(const boost::system::error_code& ec);
  void on_handshake(const boost::system::error_code& ec);
  void do_read();
  void on_read(const boost::system::error_code& ec);
  void on_write(const boost::system::error_code& ec);
  void handle_answer(std::string_view text, std::int64_t now);
  void fail(bool during_connect);

  // Appends the frame of one due request; false when none may go now.
  bool append_next(std::int64_t now);

  // Reads take up to 64 KiB of answers at a time (Beast alone reads 1,536 bytes).
  using stream_type = boost::beast::websocket::stream<matchd::net::ordered_write_stream<
      matchd::net::read_ahead_stream<boost::asio::ip::tcp::socket>>>;
  // Shared with the batch write on its way, which must not outlive the stream it writes to
  // when a reconnect replaces it.
  std::shared_ptr<stream_type> ws_;
  boost::beast::flat_buffer read_buffer_;
  std::string out_;      // frames of the batch being built
  std::string message_;  // the message being built
  std::uint32_t mask_state_;
  std::vector<slot> slots_;
  std::uint64_t slot_mask_ = 0;
  std::uint64_t next_req_id_ = 1;
  std::uint64_t in_flight_ = 0;
  unsigned generation_ = 0;  // bumped per connection attempt; stale handlers do nothing
  bool writing_ = false;
};

}  // namespace matchd::load
