// The generator's response parser (load-test/status_only_parser.h): Beast's framing with
// only the status kept. Each case feeds raw bytes, as a socket would hand them over.

#include "status_only_parser.h"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <string>
#include <string_view>

namespace matchd::load {
namespace {

struct parsed {
  std::size_t consumed = 0;
  boost::beast::error_code ec;
};

// Feeds `bytes` in pieces of at most `piece` bytes, the way reads arrive, keeping what the
// parser did not take for the next call (as beast::http::read does with its buffer).
parsed feed(status_only_parser& p, std::string_view bytes, std::size_t piece) {
  parsed r;
  std::string pending;
  std::size_t offered = 0;
  while (!p.is_done()) {
    if (offered < bytes.size()) {
      const std::size_t n = std::min(piece, bytes.size() - offered);
      pending.append(bytes.substr(offered, n));
      offered += n;
    } else if (pending.empty()) {
      break;
    }
    const std::size_t used = p.put(boost::asio::buffer(pending), r.ec);
    pending.erase(0, used);
    r.consumed += used;
    if (r.ec == boost::beast::http::error::need_more) {
      r.ec = {};
      if (offered == bytes.size()) break;
      continue;
    }
    if (r.ec) break;
  }
  return r;
}

TEST(status_only_parser, reads_status_and_skips_a_sized_body) {
  const std::string_view answer =
      "HTTP/1.1 201 Created\r\nServer: matchd\r\nContent-Type: application/json\r\n"
      "Content-Length: 11\r\n\r\n{\"id\":\"x\"}\n";
  for (std::size_t piece : {answer.size(), std::size_t{7}, std::size_t{1}}) {
    status_only_parser p;
    const parsed r = feed(p, answer, piece);
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_TRUE(p.is_done()) << "piece " << piece;
    EXPECT_EQ(p.status(), 201);
    EXPECT_EQ(p.body_bytes(), 11u);
    EXPECT_TRUE(p.keep_alive());
    EXPECT_EQ(r.consumed, answer.size());
  }
}

TEST(status_only_parser, stops_at_the_end_of_the_first_answer) {
  const std::string first = "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 2\r\n\r\n{}";
  const std::string both = first + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  status_only_parser p;
  const parsed r = feed(p, both, both.size());
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(p.status(), 429);
  EXPECT_EQ(r.consumed, first.size());
}

TEST(status_only_parser, follows_a_chunked_body) {
  const std::string_view answer =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  status_only_parser p;
  const parsed r = feed(p, answer, 4);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_TRUE(p.is_done());
  EXPECT_EQ(p.status(), 200);
  EXPECT_EQ(p.body_bytes(), 11u);
}

TEST(status_only_parser, knows_when_the_server_closes) {
  {
    status_only_parser p;
    const parsed r = feed(
        p, "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        64);
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(p.status(), 503);
    EXPECT_FALSE(p.keep_alive());
  }
  {
    status_only_parser p;  // HTTP/1.0 closes unless it says keep-alive
    const parsed r = feed(p, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 64);
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_FALSE(p.keep_alive());
  }
}

TEST(status_only_parser, rejects_what_is_not_http) {
  status_only_parser p;
  const parsed r = feed(p, "SSH-2.0-OpenSSH_9.2\r\n\r\n", 64);
  EXPECT_TRUE(r.ec);
  EXPECT_FALSE(p.is_done());
}

TEST(status_only_parser, enforces_the_body_limit) {
  status_only_parser p;
  p.body_limit(4);
  const parsed r = feed(p, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 64);
  EXPECT_EQ(r.ec, boost::beast::http::error::body_limit);
}

}  // namespace
}  // namespace matchd::load
