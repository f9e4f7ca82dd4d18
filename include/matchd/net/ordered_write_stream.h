#pragma once

#include <matchd/net/layer_teardown.h>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <utility>

namespace matchd::net {

// A stream layer that sends every write whole, one after another, in the order the writes
// were started, even when one starts while another is still on its way. Reads pass through.
//
// It exists for WebSocket sessions that write their data frames many to a buffer
// (ws_frame.h) past Beast: Beast's websocket::stream still writes control frames (pong,
// close) by itself, and through this layer such a frame waits for the buffer before it
// instead of landing in the middle of it. Put it under the websocket stream:
// websocket::stream<ordered_write_stream<beast::tcp_stream>>.
//
// Not thread-safe: every call on the stream's executor (one I/O thread here). Like the
// layers under it, it must outlive the operations started on it: the websocket stream's
// owner (a session, a load-generator connection) keeps it alive until they complete.
template <class NextLayer>
class ordered_write_stream {
 public:
  using next_layer_type = NextLayer;
  using executor_type = typename NextLayer::executor_type;

  template <class... Args>
  explicit ordered_write_stream(Args&&... args) : next_(std::forward<Args>(args)...) {}

  executor_type get_executor() noexcept { return next_.get_executor(); }
  next_layer_type& next_layer() noexcept { return next_; }
  const next_layer_type& next_layer() const noexcept { return next_; }

  template <class MutableBufferSequence, class ReadToken>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
    return next_.async_read_some(buffers, std::forward<ReadToken>(token));
  }

  // Writes all of `buffers`, after every write started before it. The bytes are copied:
  // Beast's writes through here are small control frames and handshakes.
  template <class ConstBufferSequence, class WriteToken>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
    return boost::asio::async_initiate<WriteToken, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBufferSequence& b) {
          std::string bytes(boost::asio::buffer_size(b), '\0');
          boost::asio::buffer_copy(boost::asio::buffer(bytes), b);
          enqueue(std::move(bytes), write_handler(std::move(handler)));
        },
        token, buffers);
  }

  // As async_write_some, taking the bytes over instead of copying them.
  template <class WriteToken>
  auto async_write_owned(std::string bytes, WriteToken&& token) {
    return boost::asio::async_initiate<WriteToken, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, std::string b) {
          enqueue(std::move(b), write_handler(std::move(handler)));
        },
        token, std::move(bytes));
  }

  // Writes started and not yet finished, the one on the wire included.
  [[nodiscard]] std::size_t writes_pending() const noexcept {
    return waiting_.size() + (writing_ ? 1 : 0);
  }

 private:
  using write_handler =
      boost::asio::any_completion_handler<void(boost::system::error_code, std::size_t)>;
  struct pending_write {
    std::string bytes;
    write_handler handler;
  };

  void enqueue(std::string bytes, write_handler handler) {
    waiting_.push_back({std::move(bytes), std::move(handler)});
    if (!writing_) start_next();
  }

  // The oldest waiting write goes out. The operation owns it (bytes and handler), so an
  // operation destroyed without running (its io_context gone) frees it. Its handler runs
  // after the next write has started, so a write the handler starts queues behind the
  // ones already waiting.
  void start_next() {
    auto on_wire = std::make_unique<pending_write>(std::move(waiting_.front()));
    waiting_.pop_front();
    writing_ = true;
    const auto bytes = boost::asio::buffer(on_wire->bytes);  // a heap string: stays put
    boost::asio::async_write(
        next_, bytes,
        [this, done = std::move(on_wire)](boost::system::error_code ec, std::size_t n) mutable {
          writing_ = false;
          if (!waiting_.empty()) start_next();
          std::move(done->handler)(ec, n);
        });
  }

  NextLayer next_;
  std::deque<pending_write> waiting_;
  bool writing_ = false;
};

}  // namespace matchd::net
