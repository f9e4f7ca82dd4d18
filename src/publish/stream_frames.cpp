#include "stream_frames.h"

#include <matchd/bus/messages.h>

namespace matchd::publish {

std::string sse_frame(std::string_view event, engine::sequence_number seq, std::string_view data) {
  std::string out;
  out.reserve(data.size() + event.size() + 40);
  out += "event: ";
  out += event;
  out += "\nid: ";
  out += std::to_string(seq);
  out += "\ndata: ";
  out += data;
  out += "\n\n";
  return out;
}

std::string subscription_ack(std::string_view type, std::string_view instrument,
                             std::uint8_t channels, engine::sequence_number seq, bool halted) {
  std::string out = "{\"type\":\"";
  out += type;
  out += "\",\"instrument\":\"";
  out += instrument;
  out += "\",\"channels\":[";
  bool first = true;
  for (const auto& [bit, name] :
       {std::pair{bus::channel_trades, "trades"},
        std::pair{bus::channel_orderbook, "orderbook_deltas"},
        std::pair{bus::channel_orders, "orders"}, std::pair{bus::channel_candles, "candles"},
        std::pair{bus::channel_ticker, "ticker"}, std::pair{bus::channel_positions, "positions"}}) {
    if ((channels & bit) == 0) continue;
    if (!first) out += ',';
    first = false;
    out += '"';
    out += name;
    out += '"';
  }
  out += "],\"sequence\":";
  out += std::to_string(seq);
  out += halted ? ",\"status\":\"halted\"}" : ",\"status\":\"trading\"}";
  return out;
}

}  // namespace matchd::publish
