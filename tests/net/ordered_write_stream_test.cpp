#include <gtest/gtest.h>
#include <matchd/net/ordered_write_stream.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// A loopback connection: `writer` wrapped in the layer under test, `reader` plain.
struct socket_pair {
  asio::io_context ioc;
  matchd::net::ordered_write_stream<tcp::socket> writer{ioc};
  tcp::socket reader{ioc};

  socket_pair() {
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    writer.next_layer().connect(acceptor.local_endpoint());
    acceptor.accept(reader);
  }
};

TEST(ordered_write_stream, a_write_started_during_a_long_one_lands_after_it_not_inside) {
  socket_pair pair;
  // Far more than the socket buffers hold: the first write goes out in many pieces while
  // the reader is slow, so a second write started at once would slip in between them
  // without the layer.
  const std::string big(16 << 20, 'a');
  const std::string control = "PONG";
  const std::string tail(10, 'b');
  std::vector<int> completed;
  pair.writer.async_write_owned(big, [&](boost::system::error_code ec, std::size_t n) {
    EXPECT_FALSE(ec);
    EXPECT_EQ(n, big.size());
    completed.push_back(1);
  });
  pair.writer.async_write_some(asio::buffer(control),
                               [&](boost::system::error_code ec, std::size_t n) {
                                 EXPECT_FALSE(ec);
                                 EXPECT_EQ(n, control.size());
                                 completed.push_back(2);
                               });
  pair.writer.async_write_owned(tail, [&](boost::system::error_code ec, std::size_t) {
    EXPECT_FALSE(ec);
    completed.push_back(3);
  });
  EXPECT_EQ(pair.writer.writes_pending(), 3u);

  std::string received(big.size() + control.size() + tail.size(), '\0');
  std::thread reader([&] {
    // A deliberately slow reader: the socket buffers fill and the big write waits for room.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // slow client on purpose
    asio::read(pair.reader, asio::buffer(received));
  });
  pair.ioc.run();
  reader.join();

  EXPECT_EQ(completed, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(pair.writer.writes_pending(), 0u);
  EXPECT_EQ(received.substr(0, big.size()), big);
  EXPECT_EQ(received.substr(big.size(), control.size()), control);
  EXPECT_EQ(received.substr(big.size() + control.size()), tail);
}

TEST(ordered_write_stream, a_write_started_from_a_completion_queues_behind_the_waiting_ones) {
  socket_pair pair;
  std::vector<std::string> order;
  pair.writer.async_write_owned("first,", [&](boost::system::error_code, std::size_t) {
    pair.writer.async_write_owned("fourth.", [&](boost::system::error_code, std::size_t) {});
  });
  pair.writer.async_write_owned("second,", [](boost::system::error_code, std::size_t) {});
  pair.writer.async_write_owned("third,", [](boost::system::error_code, std::size_t) {});
  pair.ioc.run();
  std::string received(std::string("first,second,third,fourth.").size(), '\0');
  asio::read(pair.reader, asio::buffer(received));
  EXPECT_EQ(received, "first,second,third,fourth.");
}

TEST(ordered_write_stream, a_broken_connection_fails_every_waiting_write) {
  socket_pair pair;
  pair.reader.close();
  int failed = 0;
  const std::string big(16 << 20, 'a');
  for (int i = 0; i < 3; ++i) {
    pair.writer.async_write_owned(big, [&](boost::system::error_code ec, std::size_t) {
      if (ec) ++failed;
    });
  }
  pair.ioc.run();
  EXPECT_EQ(failed, 3);
  EXPECT_EQ(pair.writer.writes_pending(), 0u);
}

}  // namespace
