#pragma once

#include <matchd/engine/event.h>
#include <matchd/engine/instrument.h>

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace matchd::codec {

// The body of a successful command: {"order": <subject's final state>} and, for a
// placement, "trades": the trades it produced as taker (not those of stops it triggered,
// which are in the same events). `events` are the command's own.
// `client_order_id` is the subject's label (codec::append_order).
std::string command_response(std::span<const engine::event> events, const engine::order_id& subject,
                             bool with_trades, const std::vector<engine::instrument>& instruments,
                             std::string_view client_order_id = {});

// An order to write, with the client_order_id kept beside it (empty: none).
struct labelled_order_ref {
  const engine::order* order = nullptr;
  std::string_view client_order_id;
};

// The body of a mass cancel (DELETE /orders): {"orders": [...]}, every order state among
// the command's `events` (each cancelled order once, in the order cancelled), each with the
// label `label_of(order)` gives it.
std::string cancel_all_response(
    std::span<const engine::event> events, const std::vector<engine::instrument>& instruments,
    const std::function<std::string_view(const engine::order&)>& label_of);

// One page of GET /orders: {"orders": [...], "next_before": <created_sequence of the page's
// last order, or null when no page follows>}. `orders` newest first.
std::string order_page_response(std::span<const labelled_order_ref> orders,
                                std::optional<engine::sequence_number> next_before,
                                const std::vector<engine::instrument>& instruments);

}  // namespace matchd::codec
