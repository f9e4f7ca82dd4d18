// The hand-written JSON writer: separators, scalars and string escaping.

#include <gtest/gtest.h>
#include <matchd/codec/json_writer.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

namespace matchd::codec {
namespace {

std::string escaped(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(JsonWriter, NestedContainersGetCommasRight) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.key("a");
  w.begin_array();
  w.int_value(1);
  w.begin_object();
  w.end_object();
  w.begin_array();
  w.end_array();
  w.begin_object();
  w.key("x");
  w.null_value();
  w.key("y");
  w.bool_value(false);
  w.end_object();
  w.end_array();
  w.key("b");
  w.begin_object();
  w.end_object();
  w.key("c");
  w.raw_value("[1,2]");
  w.end_object();
  EXPECT_EQ(out, R"({"a":[1,{},[],{"x":null,"y":false}],"b":{},"c":[1,2]})");
  EXPECT_EQ(w.depth(), 0);
}

TEST(JsonWriter, TopLevelArrayOfScalars) {
  std::string out;
  json_writer w(out);
  w.begin_array();
  w.string_value("s");
  w.plain_string_value("70150.50");
  w.bool_value(true);
  w.null_value();
  w.end_array();
  EXPECT_EQ(out, R"(["s","70150.50",true,null])");
}

TEST(JsonWriter, Numbers) {
  std::string out;
  json_writer w(out);
  w.begin_array();
  w.int_value(0);
  w.int_value(-42);
  w.int_value(std::numeric_limits<std::int64_t>::min());
  w.uint_value(std::numeric_limits<std::uint64_t>::max());
  w.decimal_value(7'015'050, 2);
  w.decimal_value(-5, 3);
  w.decimal_value(0, 8);
  w.decimal_value(12, 0);
  w.timestamp_value(0);
  w.end_array();
  EXPECT_EQ(out, R"([0,-42,-9223372036854775808,18446744073709551615,"70150.50","-0.005",)"
                 R"("0.00000000","12","1970-01-01T00:00:00.000000Z"])");
}

TEST(JsonWriter, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(escaped(""), R"("")");
  EXPECT_EQ(escaped("plain"), R"("plain")");
  EXPECT_EQ(escaped("a\"b\\c/d"), R"("a\"b\\c/d")");
  EXPECT_EQ(escaped("\b\f\n\r\t"), R"("\b\f\n\r\t")");
  EXPECT_EQ(escaped(std::string_view("\0\x01\x1f\x7f", 4)), "\"\\u0000\\u0001\\u001f\x7f\"");
}

TEST(JsonWriter, PassesValidUtf8Through) {
  const std::string text =
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf";
  EXPECT_EQ(escaped(text), "\"" + text + "\"");
  EXPECT_EQ(nlohmann::json::parse(escaped(text)).get<std::string>(), text);
}

TEST(JsonWriter, ReplacesEachInvalidUtf8ByteWithReplacementCharacter) {
  EXPECT_EQ(escaped("a\xff"
                    "b"),
            R"("a\ufffdb")");
  EXPECT_EQ(escaped("\xc0\x80"), R"("\ufffd\ufffd")");                      // overlong NUL
  EXPECT_EQ(escaped("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");            // surrogate
  EXPECT_EQ(escaped("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");  // > U+10FFFF
  EXPECT_EQ(escaped("\xe2\x82"), R"("\ufffd\ufffd")");                      // truncated
  EXPECT_EQ(escaped("\xe2\x82z"), R"("\ufffd\ufffdz")");
  EXPECT_EQ(escaped("\x80"), R"("\ufffd")");  // lone continuation
  for (int b = 0; b < 256; ++b) {
    const std::string s(1, static_cast<char>(b));
    EXPECT_TRUE(nlohmann::json::accept(escaped(s))) << b;
  }
}

TEST(JsonWriter, RoundTripsArbitraryBytesAsValidJson) {
  std::string bytes;
  std::uint32_t x = 12345;
  for (int i = 0; i < 20'000; ++i) {
    x = x * 1'103'515'245U + 12'345U;
    bytes.push_back(static_cast<char>(x >> 24));
  }
  const std::string out = escaped(bytes);
  nlohmann::json parsed;
  ASSERT_NO_THROW(parsed = nlohmann::json::parse(out));
  EXPECT_TRUE(parsed.is_string());
}

}  // namespace
}  // namespace matchd::codec
