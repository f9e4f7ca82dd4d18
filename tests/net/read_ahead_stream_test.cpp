#include <gtest/gtest.h>
#include <matchd/net/read_ahead_stream.h>
#include <matchd/net/ws_frame.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;
using server_stream = websocket::stream<matchd::net::read_ahead_stream<tcp::socket>>;

struct received {
  std::vector<std::string> messages;
  std::vector<std::size_t> buffered_after;  // bytes left in the layer after each message
  std::string error;
};

// A Beast server over the layer (chunks of `capacity` bytes) reads `count` messages that a
// plain client wrote after its handshake, all frames in one write.
received serve(std::size_t capacity, const std::vector<std::string>& payloads) {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  std::string frames;
  std::uint32_t key = 12345;
  for (const auto& p : payloads) matchd::net::append_masked_text_frame(frames, p, key++);

  std::thread client([port = acceptor.local_endpoint().port(), &frames] {
    asio::io_context cctx;
    websocket::stream<tcp::socket> ws(cctx);
    ws.next_layer().connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
    ws.handshake("127.0.0.1", "/stream");
    asio::write(ws.next_layer(), asio::buffer(frames));
    boost::beast::flat_buffer ignored;
    boost::beast::error_code ec;
    ws.read(ignored, ec);  // until the server goes away
  });

  received out;
  server_stream server(ioc, capacity);
  acceptor.accept(server.next_layer().next_layer());
  boost::beast::flat_buffer buffer;
  std::function<void()> read_next = [&] {
    server.async_read(buffer, [&](boost::beast::error_code ec, std::size_t) {
      if (ec) {
        out.error = ec.message();
        return;
      }
      out.messages.push_back(boost::beast::buffers_to_string(buffer.data()));
      out.buffered_after.push_back(server.next_layer().buffered());
      buffer.consume(buffer.size());
      if (out.messages.size() < payloads.size()) read_next();
    });
  };
  server.async_accept([&](boost::beast::error_code ec) {
    if (ec) {
      out.error = ec.message();
      return;
    }
    read_next();
  });
  ioc.run();
  server.next_layer().next_layer().close();
  client.join();
  return out;
}

std::vector<std::string> payloads() {
  std::vector<std::string> out;
  for (int i = 0; i < 200; ++i) {
    out.push_back(R"({"op":"place","req_id":)" + std::to_string(i) + R"(,"side":"buy"})");
  }
  out.push_back(std::string(70000, 'x'));  // longer than any chunk below
  out.push_back("last");
  return out;
}

TEST(read_ahead_stream, beast_reads_every_message_intact_through_it) {
  const auto sent = payloads();
  for (std::size_t capacity : {std::size_t{7}, std::size_t{1536}, std::size_t{64 * 1024}}) {
    SCOPED_TRACE(capacity);
    const received got = serve(capacity, sent);
    EXPECT_EQ(got.error, "");
    EXPECT_EQ(got.messages, sent);
  }
}

TEST(read_ahead_stream, holds_what_one_read_from_the_socket_brought_beyond_a_message) {
  // 200 small frames arrive together: a 64 KiB chunk takes many of them in one read, so
  // after the first message the layer still holds bytes Beast has not asked for.
  const received got = serve(64 * 1024, payloads());
  ASSERT_FALSE(got.buffered_after.empty());
  EXPECT_GT(got.buffered_after.front(), 0u);
}

}  // namespace
