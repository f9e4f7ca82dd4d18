// The framing rules checked between a request's header and its body (request_framing.h).

#include "request_framing.h"

#include <gtest/gtest.h>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>

namespace matchd::gateway {
namespace {

namespace http = boost::beast::http;

// The header of `text` as the session sees it: parsed by Beast, and its raw bytes.
std::optional<std::string_view> problem_of(const std::string& text) {
  http::request_parser<http::string_body> parser;
  boost::beast::error_code ec;
  const std::size_t used = parser.put(boost::asio::buffer(text), ec);
  EXPECT_TRUE(!ec || ec == http::error::need_more) << ec.message();
  EXPECT_TRUE(parser.is_header_done()) << text;
  return framing_problem(parser.get().base(), has_obs_fold(std::string_view(text).substr(0, used)));
}

std::string request(const std::string& header_lines, const std::string& version = "HTTP/1.1") {
  return "POST /orders " + version + "\r\nHost: x\r\n" + header_lines + "\r\n";
}

TEST(request_framing, unambiguous_requests_pass) {
  EXPECT_EQ(problem_of(request("")), std::nullopt);
  EXPECT_EQ(problem_of(request("Content-Length: 12\r\n")), std::nullopt);
  EXPECT_EQ(problem_of(request("Content-Length: 0\r\n")), std::nullopt);
  EXPECT_EQ(problem_of(request("Transfer-Encoding: chunked\r\n")), std::nullopt);
  EXPECT_EQ(problem_of(request("Transfer-Encoding: Chunked\r\n")), std::nullopt);
  EXPECT_EQ(problem_of(request("Content-Length: 3\r\n", "HTTP/1.0")), std::nullopt);
}

TEST(request_framing, transfer_codings_other_than_chunked_alone_are_refused) {
  for (const char* te :
       {"gzip", "chunked, gzip", "gzip, chunked", "chunked, chunked", "identity", "deflate"}) {
    EXPECT_NE(problem_of(request(std::string("Transfer-Encoding: ") + te + "\r\n")), std::nullopt)
        << te;
  }
  EXPECT_NE(problem_of(request("Transfer-Encoding: chunked\r\n", "HTTP/1.0")), std::nullopt);
}

TEST(request_framing, transfer_encoding_with_content_length_is_refused) {
  // Beast refuses the other order itself; this one it would read by Content-Length.
  EXPECT_NE(problem_of(request("Transfer-Encoding: gzip\r\nContent-Length: 3\r\n")), std::nullopt);
}

TEST(request_framing, content_length_must_be_one_decimal_number) {
  // Beast accepts repeated equal values, as a list or as fields.
  EXPECT_NE(problem_of(request("Content-Length: 3, 3\r\n")), std::nullopt);
  EXPECT_NE(problem_of(request("Content-Length: 3\r\nContent-Length: 3\r\n")), std::nullopt);
}

TEST(request_framing, obsolete_line_folding_is_refused) {
  EXPECT_NE(problem_of(request("X-Note: a\r\n b\r\nContent-Length: 0\r\n")), std::nullopt);
  EXPECT_NE(problem_of(request("X-Note: a\r\n\tb\r\n")), std::nullopt);
  // A space or a tab inside a value is not a fold.
  EXPECT_EQ(problem_of(request("X-Note: a b\tc\r\n")), std::nullopt);
}

TEST(request_framing, beast_errors_about_framing_are_answered) {
  EXPECT_TRUE(is_framing_error(http::error::bad_content_length));
  EXPECT_TRUE(is_framing_error(http::error::multiple_content_length));
  EXPECT_TRUE(is_framing_error(http::error::bad_transfer_encoding));
  EXPECT_FALSE(is_framing_error(http::error::end_of_stream));
  EXPECT_FALSE(is_framing_error(http::error::partial_message));
}

}  // namespace
}  // namespace matchd::gateway
