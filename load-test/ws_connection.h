#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connection.h"
#include "load_plan.h"

namespace matchd::load {

// A WebSocket on /stream entering orders as {"op":"place","req_id":N, <fixture fields>},
// pipelined: up to --max-inflight requests on the socket at once, one write in flight, a
// read always pending. Answers ({"type":"place","req_id":N,"status":S,...}) are matched by
// req_id in a ring of slots indexed by N, so they may come in any order. A failure loses
// everything in flight (counted) and reconnects.
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

  using stream_type = boost::beast::websocket::stream<boost::asio::ip::tcp::socket>;
  std::optional<stream_type> ws_;
  boost::beast::flat_buffer read_buffer_;
  std::string out_;
  std::vector<slot> slots_;
  std::uint64_t slot_mask_ = 0;
  std::uint64_t next_req_id_ = 1;
  std::uint64_t in_flight_ = 0;
  unsigned generation_ = 0;  // bumped per connection attempt; stale handlers do nothing
  bool writing_ = false;
};

}  // namespace matchd::load
