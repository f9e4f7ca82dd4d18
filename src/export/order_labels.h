#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

namespace matchd::event_export {

// The client_order_id of the orders that have one, from their placement until they finish:
// the engine's later states of an order do not carry it, the streams (and so the export and
// the webhooks) do. One thread uses it.
class order_labels {
 public:
  void set(std::string_view id, std::string_view label) {
    labels_.insert_or_assign(std::string(id), std::string(label));
  }
  [[nodiscard]] std::string_view find(std::string_view id) const {
    const auto it = labels_.find(std::string(id));
    return it == labels_.end() ? std::string_view{} : std::string_view(it->second);
  }
  void finished(std::string_view id) { labels_.erase(std::string(id)); }
  void clear() { labels_.clear(); }

 private:
  std::unordered_map<std::string, std::string> labels_;
};

}  // namespace matchd::event_export
