#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace matchd::net {

// RFC 6455 framing for writers that send many messages in one socket write, which
// Beast's websocket::stream cannot do (one message per async_write). Each call appends one
// complete, unfragmented text frame (FIN set, opcode 1). No extensions: the sessions that
// use these never negotiate permessage-deflate.

// As a server sends it: unmasked.
void append_text_frame(std::string& out, std::string_view payload);

// As a client must send it: masked with `mask_key` (section 5.3).
void append_masked_text_frame(std::string& out, std::string_view payload, std::uint32_t mask_key);

}  // namespace matchd::net
