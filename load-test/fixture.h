#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace matchd::load {

// The request bodies of a fixture file: NDJSON, one POST /orders body (a JSON object) per
// line, as written by fixtures/gen_orders.py. Replays index it with a global request
// number; request i is line i % size(), and from the second pass over the file on
// (cycle = i / size() >= 1) its order_id gets a ".c<cycle>" suffix so every order stays
// unique. An optional tag (".<tag>") is added to every order_id of a run, so the same file
// can be replayed by several runs against one daemon. Lines without an order_id are sent
// unchanged (the server makes up an id).
//
// Immutable after load(), so threads may share it.
class fixture {
 public:
  // Reads and checks the file: every non-empty line a JSON object, order_id (when present)
  // a string of [A-Za-z0-9._:-]. Throws std::runtime_error with the line number otherwise.
  static fixture load(const std::string& path, std::string tag);

  [[nodiscard]] std::size_t size() const noexcept { return lines_.size(); }
  // Length of the longest order_id with the tag and a suffix for `cycles` passes.
  [[nodiscard]] std::size_t longest_order_id(std::uint64_t cycles) const;

  // Appends the body of request `request` (the whole JSON object) to `out`.
  void append_body(std::uint64_t request, std::string& out) const;
  // Appends its members only, without the opening '{', so a caller can put fields in
  // front; `leading_comma` is false when the object is empty.
  void append_members(std::uint64_t request, std::string& out, bool& leading_comma) const;

 private:
  struct line {
    std::uint32_t begin = 0;  // offset in text_
    std::uint32_t length = 0;
    std::uint32_t id_end = 0;     // offset in text_ of the order_id's closing quote
    std::uint32_t id_length = 0;  // 0 when the line has no order_id
    bool empty_object = false;
  };

  void append_from(std::uint64_t request, std::size_t skip, std::string& out) const;

  std::string text_;
  std::vector<line> lines_;
  std::string tag_suffix_;  // "" or ".<tag>"
};

}  // namespace matchd::load
