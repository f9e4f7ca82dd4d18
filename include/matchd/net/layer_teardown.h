#pragma once

#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <boost/system/error_code.hpp>
#include <utility>

namespace matchd::net {

// A stream layer of ours: it wraps another stream and can hand it out.
template <class Layer>
concept stream_layer = requires(Layer& layer) {
  layer.next_layer();
};

// Beast's websocket::stream ends a connection through teardown and async_teardown, found by
// argument-dependent lookup on the stream beneath it. Our layers hold nothing that outlives
// the connection (what read_ahead_stream still buffers no longer matters then), so each hands
// the call to the layer below; the socket at the bottom knows how.
template <stream_layer Layer>
void teardown(boost::beast::role_type role, Layer& stream, boost::system::error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, stream.next_layer(), ec);
}

template <stream_layer Layer, class TeardownHandler>
void async_teardown(boost::beast::role_type role, Layer& stream, TeardownHandler&& handler) {
  using boost::beast::websocket::async_teardown;
  async_teardown(role, stream.next_layer(), std::forward<TeardownHandler>(handler));
}

}  // namespace matchd::net
