// The order-entry fast path: what scan_flat_object takes and refuses, and that the order
// parser answers every body (taken or refused, valid or mutated) exactly as nlohmann's
// SAX path does.

#include <gtest/gtest.h>
#include <matchd/codec/flat_object.h>
#include <matchd/codec/order_request.h>
#include <matchd/engine/instrument.h>

#include <cstddef>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "test_instruments.h"

namespace matchd::codec {
namespace {

bool takes(std::string_view text) {
  flat_object flat;
  return scan_flat_object(text, flat);
}

TEST(flat_object, reads_members_in_order_with_their_kinds_and_source_text) {
  flat_object flat;
  ASSERT_TRUE(scan_flat_object(
      " {\"a\" : \"x y\",\"b\":70150.50,\t\"c\":0,\"d\":true,\"e\":false,\"f\":null,\"g\":\"\"}\n",
      flat));
  ASSERT_EQ(flat.size, 7u);
  const std::vector<std::pair<json_kind, std::string_view>> expected = {
      {json_kind::string, "x y"},   {json_kind::number, "70150.50"}, {json_kind::number, "0"},
      {json_kind::boolean, "true"}, {json_kind::boolean, "false"},   {json_kind::null, "null"},
      {json_kind::string, ""}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(flat.members[i].key, std::string(1, static_cast<char>('a' + i)));
    EXPECT_EQ(flat.members[i].kind, expected[i].first) << i;
    EXPECT_EQ(flat.members[i].text, expected[i].second) << i;
  }
  ASSERT_TRUE(scan_flat_object("{}", flat));
  EXPECT_EQ(flat.size, 0u);
}

TEST(flat_object, takes_the_bodies_the_fixtures_and_the_api_examples_send) {
  EXPECT_TRUE(takes(
      R"({"order_id":"o1-0000001","client_id":"client-1076","instrument":"BTC-USD","side":"buy","type":"limit","price":"69948.50","quantity":"0.00500000","time_in_force":"gtc"})"));
  EXPECT_TRUE(takes(
      R"({"idempotency_key": "abc-123", "order_id": "order-1", "client_id": "client-A",
          "instrument": "BTC-USD", "side": "buy", "type": "limit", "price": 70150.5,
          "quantity": 0.25, "time_in_force": "gtc"})"));
  EXPECT_TRUE(takes(R"({"op":"place","req_id":17,"client_id":"c","instrument":"BTC-USD"})"));
}

TEST(flat_object, leaves_every_other_shape_to_the_full_parser) {
  for (const char* text : {
           "",
           "   ",
           "[]",
           "\"a\"",
           "{",
           "{\"a\":1",
           "{\"a\":1,}",
           "{,}",
           "{\"a\" 1}",
           "{\"a\":}",
           "{\"a\":1}x",
           "{\"a\":1}{}",
           "{\"a\":1,\"a\":2}",     // a repeated key
           "{\"a\":\"x\\\"y\"}",    // an escape
           "{\"a\\u0062\":1}",      // an escape in a key
           "{\"a\":\"\xc3\xa9\"}",  // non-ASCII
           "{\"a\":\"\x01\"}",      // a control character
           "{\"a\":\"\x7f\"}",      // DEL
           "{\"a\":\"x}",           // unterminated
           "{\"a\":{}}",            // nested
           "{\"a\":[1]}",
           "{\"a\":-1}",  // a sign
           "{\"a\":+1}",
           "{\"a\":01}",  // a leading zero
           "{\"a\":1.}",
           "{\"a\":.5}",
           "{\"a\":1e5}",  // an exponent
           "{\"a\":1E5}",
           "{\"a\":12345678901234567890}",  // 20 digits
           "{\"a\":tru}",
           "{\"a\":truex}",
           "{\"a\":nul}",
           "{\"a\":NaN}",
           "\xef\xbb\xbf{}",  // a byte order mark
       }) {
    EXPECT_FALSE(takes(text)) << text;
  }
  std::string many = "{";
  for (std::size_t i = 0; i <= flat_object::kMaxMembers; ++i) {
    if (i) many += ',';
    many += "\"k" + std::to_string(i) + "\":1";
  }
  many += '}';
  EXPECT_FALSE(takes(many));
  // The longest numbers taken: 19 integral digits, 40 characters with a fraction.
  const std::string forty = "1." + std::string(38, '0');
  EXPECT_TRUE(takes("{\"a\":1234567890123456789,\"b\":" + forty + "}"));
  EXPECT_FALSE(takes("{\"b\":" + forty + "0}"));
}

// Everything a parse produces, as one comparable string.
std::string outcome(const std::optional<api_error>& error, const order_request& r) {
  if (error) {
    return "error " + std::to_string(error->status) + " " + std::string(error->code) + ": " +
           error->message;
  }
  const engine::place_order& c = r.command;
  return "ok id=" + std::string(c.id.view()) + " has_id=" + std::to_string(r.has_order_id) +
         " client=" + std::string(c.client.view()) + " ins=" + std::to_string(c.instrument) +
         " side=" + std::to_string(static_cast<int>(c.order_side)) +
         " type=" + std::to_string(static_cast<int>(c.type)) +
         " tif=" + std::to_string(static_cast<int>(c.tif)) +
         " price=" + std::to_string(c.price.value) + " qty=" + std::to_string(c.quantity.value) +
         " key=" + std::string(r.idempotency.view()) + " fp=" + std::to_string(r.fingerprint);
}

// Observes nothing: makes parse_order_request take nlohmann's SAX path for every body.
class ignore_events : public nlohmann::json::json_sax_t {
 public:
  using json = nlohmann::json;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(json::number_integer_t) override { return true; }
  bool number_unsigned(json::number_unsigned_t) override { return true; }
  bool number_float(json::number_float_t, const json::string_t&) override { return true; }
  bool string(json::string_t&) override { return true; }
  bool binary(json::binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool key(json::string_t&) override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }
};

// Whether the two paths agree on `body`; also, whatever the fast scan takes must be a JSON
// object with those very members to nlohmann.
::testing::AssertionResult same_answer(std::string_view body, std::string_view header_key = {}) {
  order_request fast;
  const auto fast_error = parse_order_request(body, header_key, test_instruments(), fast);
  order_request full;
  ignore_events observer;
  const auto full_error = parse_order_request(body, header_key, test_instruments(), full, observer);
  const std::string a = outcome(fast_error, fast);
  const std::string b = outcome(full_error, full);
  if (a != b) {
    return ::testing::AssertionFailure() << "body " << body << "\n fast: " << a << "\n full: " << b;
  }
  flat_object flat;
  if (scan_flat_object(body, flat)) {
    const auto doc = nlohmann::json::parse(body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || doc.size() != flat.size) {
      return ::testing::AssertionFailure()
             << "scanned but not the same object to nlohmann: " << body;
    }
    for (const flat_member& m : flat) {
      const auto it = doc.find(std::string(m.key));
      if (it == doc.end()) return ::testing::AssertionFailure() << "no " << m.key << " in " << body;
      const bool same = m.kind == json_kind::string
                            ? it->is_string() && it->get<std::string>() == m.text
                        : m.kind == json_kind::number  ? it->is_number()
                        : m.kind == json_kind::boolean ? it->is_boolean() && it->dump() == m.text
                                                       : it->is_null();
      if (!same) return ::testing::AssertionFailure() << m.key << " differs in " << body;
    }
  }
  return ::testing::AssertionSuccess();
}

const std::vector<std::string>& seed_bodies() {
  static const std::vector<std::string> kBodies = {
      R"({"order_id":"o1-0000001","client_id":"client-1076","instrument":"BTC-USD","side":"buy","type":"limit","price":"69948.50","quantity":"0.00500000","time_in_force":"gtc"})",
      R"({"idempotency_key": "abc-123", "client_id": "client-A", "instrument": "BTC-USD", "side": "sell", "type": "limit", "price": 70150.5, "quantity": 0.25, "time_in_force": "ioc"})",
      R"({"client_id":"c","instrument":"ETH-USD","side":"sell","type":"market","quantity":3})",
      R"({"op":"place","req_id":7,"client_id":"c-9","instrument":"ETH-USD","side":"buy","type":"limit","price":"2000.05","quantity":"1.5","time_in_force":"fok","note":null})",
      "{\n  \"client_id\" : "
      "\"c\",\n\t\"instrument\":\"BTC-USD\",\"side\":\"buy\",\"type\":\"limit\",\"price\":1,"
      "\"quantity\":1,\"x\":[1,{\"y\":2}],\"z\":true }\n",
  };
  return kBodies;
}

TEST(flat_object, the_order_parser_answers_the_seed_bodies_alike_on_both_paths) {
  for (const std::string& body : seed_bodies()) {
    EXPECT_TRUE(same_answer(body)) << body;
    EXPECT_TRUE(same_answer(body, "hdr-key"));
  }
}

// Mutated bodies cover the edges: a character dropped, doubled or replaced by one that
// matters to JSON, a field's value swapped for another kind. Deterministic (fixed seed).
TEST(flat_object, the_order_parser_answers_mutated_bodies_alike_on_both_paths) {
  static constexpr std::string_view kAlphabet =
      "{}[]\":,.-+eE0123456789 \t\n\\u/abnlfrtsx\x01\x7f\xc3\xa9";
  static const std::vector<std::string_view> kValues = {
      "\"0.25\"", "0.25",       "1",      "0",  "-1",           "1e2",       "null",
      "true",     "\"\"",       "{}",     "[]", "\"70150.50\"", "70150.505", "12345678901234567890",
      "\"buy\"",  "\"market\"", "\"ioc\""};
  std::mt19937_64 rng(20261205);
  std::size_t taken = 0;
  constexpr int kRounds = 40'000;
  for (int round = 0; round < kRounds; ++round) {
    std::string body = seed_bodies()[rng() % seed_bodies().size()];
    const int mutations = 1 + static_cast<int>(rng() % 3);
    for (int m = 0; m < mutations && !body.empty(); ++m) {
      const std::size_t at = rng() % body.size();
      switch (rng() % 5) {
        case 0:
          body.erase(at, 1);
          break;
        case 1:
          body.insert(at, 1, kAlphabet[rng() % kAlphabet.size()]);
          break;
        case 2:
          body[at] = kAlphabet[rng() % kAlphabet.size()];
          break;
        case 3:
          body.insert(at, body.substr(at, 1 + rng() % 12));
          break;
        default: {
          // Replace the value after the next ':' with another of any kind.
          const std::size_t colon = body.find(':', at);
          if (colon == std::string::npos) break;
          const std::size_t end = body.find_first_of(",}", colon);
          if (end == std::string::npos) break;
          body.replace(colon + 1, end - colon - 1, kValues[rng() % kValues.size()]);
        }
      }
    }
    ASSERT_TRUE(same_answer(body, round % 7 == 0 ? "k-1" : "")) << "round " << round;
    if (takes(body)) ++taken;
  }
  // The mutations must exercise both paths, or this test proves little.
  EXPECT_GT(taken, static_cast<std::size_t>(kRounds / 10));
  EXPECT_LT(taken, static_cast<std::size_t>(kRounds * 9 / 10));
}

}  // namespace
}  // namespace matchd::codec
