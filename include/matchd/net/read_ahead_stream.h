#pragma once

#include <matchd/net/layer_teardown.h>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <utility>
#include <vector>

namespace matchd::net {

// A stream layer that reads from the layer below in chunks of `capacity` bytes and hands
// them out to reads of any size. Beast's websocket::stream reads into a 1,536-byte buffer,
// so a socket full of small pipelined messages cost a recvmsg per few messages; through
// this layer it costs one per chunk. Writes pass through. (Asio's buffered_read_stream
// does the same job, but cannot sit on a beast::tcp_stream: it wants lowest_layer_type and
// copies its argument.)
//
// Not thread-safe: every call on the stream's executor. One read at a time, as on a socket.
// It must outlive the reads started on it (they refer to its buffer).
template <class NextLayer>
class read_ahead_stream {
 public:
  using next_layer_type = NextLayer;
  using executor_type = typename NextLayer::executor_type;

  template <class Arg>
  read_ahead_stream(Arg&& next, std::size_t capacity)
      : next_(std::forward<Arg>(next)), chunk_(capacity == 0 ? 1 : capacity) {}

  executor_type get_executor() noexcept { return next_.get_executor(); }
  next_layer_type& next_layer() noexcept { return next_; }
  const next_layer_type& next_layer() const noexcept { return next_; }

  // Bytes read from below and not yet handed out.
  [[nodiscard]] std::size_t buffered() const noexcept { return end_ - begin_; }

  template <class MutableBufferSequence, class ReadToken>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
    return boost::asio::async_initiate<ReadToken, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const MutableBufferSequence& into) {
          if (begin_ != end_) {
            // Completes later, as every asynchronous operation must.
            const std::size_t n = take(into);
            const auto ex = boost::asio::get_associated_executor(handler, get_executor());
            boost::asio::post(ex, [h = std::move(handler), n]() mutable {
              std::move(h)(boost::system::error_code{}, n);
            });
            return;
          }
          begin_ = end_ = 0;
          next_.async_read_some(boost::asio::buffer(chunk_),
                                [this, into, h = std::move(handler)](boost::system::error_code ec,
                                                                     std::size_t n) mutable {
                                  end_ = n;
                                  std::move(h)(ec, ec ? 0 : take(into));
                                });
        },
        token, buffers);
  }

  template <class ConstBufferSequence, class WriteToken>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
    return next_.async_write_some(buffers, std::forward<WriteToken>(token));
  }

 private:
  template <class MutableBufferSequence>
  std::size_t take(const MutableBufferSequence& into) {
    const std::size_t n =
        boost::asio::buffer_copy(into, boost::asio::buffer(chunk_.data() + begin_, end_ - begin_));
    begin_ += n;
    return n;
  }

  NextLayer next_;
  std::vector<char> chunk_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace matchd::net
