#include "request_framing.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

namespace matchd::gateway {

namespace http = boost::beast::http;

namespace {

bool is_decimal(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

bool has_obs_fold(std::string_view raw) noexcept {
  for (std::size_t i = raw.find('\n'); i != std::string_view::npos && i + 1 < raw.size();
       i = raw.find('\n', i + 1)) {
    if (raw[i + 1] == ' ' || raw[i + 1] == '\t') return true;
  }
  return false;
}

std::optional<std::string_view> framing_problem(const http::request_header<>& header,
                                                bool folded) noexcept {
  if (folded) {
    return "obsolete line folding (a header line starting with a space or a tab) is not "
           "accepted";
  }
  const auto te = header.equal_range(http::field::transfer_encoding);
  const auto cl = header.equal_range(http::field::content_length);
  const bool has_te = te.first != te.second;
  const bool has_cl = cl.first != cl.second;
  if (has_te) {
    if (header.version() < 11) return "Transfer-Encoding in an HTTP/1.0 request";
    if (has_cl) return "Transfer-Encoding together with Content-Length";
    if (std::next(te.first) != te.second || !boost::beast::iequals(te.first->value(), "chunked")) {
      return "Transfer-Encoding must be exactly chunked, the only transfer coding supported";
    }
    return std::nullopt;
  }
  if (has_cl) {
    if (std::next(cl.first) != cl.second) return "Content-Length given more than once";
    if (!is_decimal(cl.first->value())) return "Content-Length must be one decimal number";
  }
  return std::nullopt;
}

bool is_framing_error(const boost::beast::error_code& ec) noexcept {
  return ec == http::error::bad_content_length || ec == http::error::multiple_content_length ||
         ec == http::error::bad_transfer_encoding || ec == http::error::bad_chunk ||
         ec == http::error::bad_chunk_extension || ec == http::error::bad_field;
}

}  // namespace matchd::gateway
