#pragma once

#include <matchd/engine/types.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace matchd::publish {

// "event: trades\nid: 1042\ndata: <data>\n\n" (data is one line of JSON).
std::string sse_frame(std::string_view event, engine::sequence_number seq, std::string_view data);

// {"type":"subscribed","instrument":"BTC-USD","channels":["trades",...],"sequence":1041,
//  "status":"trading"}: the instrument's status as of `seq` ("halted" while halted), so a
// subscriber knows it without waiting for the next instrument_status message.
std::string subscription_ack(std::string_view type, std::string_view instrument,
                             std::uint8_t channels, engine::sequence_number seq, bool halted);

}  // namespace matchd::publish
