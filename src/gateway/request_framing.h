#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <optional>
#include <string_view>

namespace matchd::gateway {

// RFC 9112's message framing rules that Beast's parser leaves to its user, checked once a
// request's header is parsed and before its body is read. matchd is an origin server and
// not a proxy: where two readers of a request could disagree on where its body ends, it
// refuses the request (400 invalid_framing, connection closed) instead of picking one
// reading.
//
// Refused:
// - obs-fold: a header line that starts with a space or a tab (`folded`, see has_obs_fold);
// - Transfer-Encoding in an HTTP/1.0 request;
// - Transfer-Encoding other than exactly one field `chunked` (the only coding matchd
//   decodes: `gzip`, `chunked, gzip`, `gzip, chunked`, `chunked, chunked`);
// - Transfer-Encoding together with Content-Length;
// - Content-Length given more than once, or not one decimal number (a list, a sign).
//
// Returns why the request is refused, or nullopt when its framing is unambiguous.
std::optional<std::string_view> framing_problem(const boost::beast::http::request_header<>& header,
                                                bool folded) noexcept;

// Whether `raw`, bytes of a request header as received, hold obsolete line folding (a line
// break followed by a space or a tab), which the parser joins without a trace. The parser
// takes a header's complete lines as they arrive, so the session looks at each part it hands
// over; a fold never straddles two parts, since a line is complete only once the character
// after its line break is known.
bool has_obs_fold(std::string_view raw) noexcept;

// Whether a parse error of Beast's is about where the request or its body ends (or a
// header line it cannot read), and so is answered 400 invalid_framing before closing,
// rather than by closing alone.
bool is_framing_error(const boost::beast::error_code& ec) noexcept;

}  // namespace matchd::gateway
