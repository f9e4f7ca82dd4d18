#include <gtest/gtest.h>
#include <matchd/net/ws_frame.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

// One payload per header form: 7-bit, 16-bit and 64-bit lengths, and the edges between.
std::vector<std::string> payloads() {
  std::vector<std::string> out;
  for (std::size_t n : {0u, 5u, 125u, 126u, 200u, 65535u, 65536u, 70000u}) {
    std::string p(n, 'x');
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<char>('a' + (i * 7 + n) % 26);
    out.push_back(std::move(p));
  }
  out.emplace_back(R"({"op":"place","req_id":1,"side":"buy"})");
  return out;
}

std::string read_all(websocket::stream<tcp::socket>& ws, std::size_t count,
                     std::vector<std::string>& got) {
  boost::beast::flat_buffer buffer;
  for (std::size_t i = 0; i < count; ++i) {
    boost::beast::error_code ec;
    ws.read(buffer, ec);
    if (ec) return ec.message();
    EXPECT_TRUE(ws.got_text());
    got.push_back(boost::beast::buffers_to_string(buffer.data()));
    buffer.consume(buffer.size());
  }
  return {};
}

// A connected pair of Beast WebSocket streams over loopback: the server's, the client's.
struct ws_pair {
  asio::io_context ioc;
  websocket::stream<tcp::socket> server{ioc};
  websocket::stream<tcp::socket> client{ioc};

  ws_pair() {
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    std::thread accept([&] {
      acceptor.accept(server.next_layer());
      server.accept();
    });
    client.next_layer().connect(acceptor.local_endpoint());
    client.handshake("127.0.0.1", "/stream");
    accept.join();
  }
};

TEST(ws_frame, masked_frames_written_in_one_buffer_are_read_by_a_beast_server) {
  ws_pair pair;
  const auto sent = payloads();
  std::string bytes;
  std::uint32_t key = 0x9e3779b9;
  for (const auto& p : sent) {
    matchd::net::append_masked_text_frame(bytes, p, key);
    key = key * 2654435761u + 1;
  }
  std::vector<std::string> got;
  std::string error;
  std::thread reader([&] { error = read_all(pair.server, sent.size(), got); });
  asio::write(pair.client.next_layer(), asio::buffer(bytes));
  reader.join();
  EXPECT_EQ(error, "");
  EXPECT_EQ(got, sent);
}

TEST(ws_frame, unmasked_frames_written_in_one_buffer_are_read_by_a_beast_client) {
  ws_pair pair;
  const auto sent = payloads();
  std::string bytes;
  for (const auto& p : sent) matchd::net::append_text_frame(bytes, p);
  std::vector<std::string> got;
  std::string error;
  std::thread reader([&] { error = read_all(pair.client, sent.size(), got); });
  asio::write(pair.server.next_layer(), asio::buffer(bytes));
  reader.join();
  EXPECT_EQ(error, "");
  EXPECT_EQ(got, sent);
}

TEST(ws_frame, a_server_refuses_an_unmasked_frame_from_a_client) {
  // The masked encoder is not the unmasked one: a Beast server rejects client frames
  // without a mask, so the first test would fail if the mask were missing.
  ws_pair pair;
  std::string bytes;
  matchd::net::append_text_frame(bytes, "hello");
  std::vector<std::string> got;
  std::string error;
  std::thread reader([&] { error = read_all(pair.server, 1, got); });
  asio::write(pair.client.next_layer(), asio::buffer(bytes));
  // The server fails the connection and reads until the client's end goes away.
  pair.client.next_layer().shutdown(tcp::socket::shutdown_send);
  reader.join();
  EXPECT_NE(error, "");
  EXPECT_TRUE(got.empty());
}

TEST(ws_frame, header_forms) {
  std::string out;
  matchd::net::append_text_frame(out, std::string(125, 'a'));
  EXPECT_EQ(static_cast<unsigned char>(out[0]), 0x81);
  EXPECT_EQ(static_cast<unsigned char>(out[1]), 125);
  EXPECT_EQ(out.size(), 2u + 125);
  out.clear();
  matchd::net::append_text_frame(out, std::string(126, 'a'));
  EXPECT_EQ(static_cast<unsigned char>(out[1]), 126);
  EXPECT_EQ(out.size(), 4u + 126);
  out.clear();
  matchd::net::append_masked_text_frame(out, std::string(65536, 'a'), 0);
  EXPECT_EQ(static_cast<unsigned char>(out[1]), 0x80 | 127);
  EXPECT_EQ(out.size(), 2u + 8 + 4 + 65536);
  EXPECT_EQ(static_cast<unsigned char>(out[7]), 1);  // 65536 = 0x01'0000, big-endian
}

}  // namespace
