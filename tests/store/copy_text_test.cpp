#include <gtest/gtest.h>
#include <matchd/store/copy_text.h>

#include <limits>

namespace matchd::store {
namespace {

TEST(copy_text, columns_are_tab_separated_and_rows_end_with_a_newline) {
  copy_text rows;
  rows.text("o-1").number(42).wide(engine::int128{7}).end_row();
  rows.number(-3).text("").end_row();
  EXPECT_EQ(rows.data(), "o-1\t42\t7\n-3\t\n");
  EXPECT_EQ(rows.rows(), 2u);
}

TEST(copy_text, escapes_what_copy_text_format_reserves) {
  copy_text rows;
  rows.text("a\\b\tc\nd\re").text("{\"k\":\"v\"}").end_row();
  EXPECT_EQ(rows.data(), "a\\\\b\\tc\\nd\\re\t{\"k\":\"v\"}\n");
}

TEST(copy_text, integers_keep_their_full_range) {
  copy_text rows;
  rows.number(std::numeric_limits<std::int64_t>::min())
      .number(std::numeric_limits<std::int64_t>::max())
      .wide(engine::int128{std::numeric_limits<std::int64_t>::max()} * 1000)
      .end_row();
  EXPECT_EQ(rows.data(), "-9223372036854775808\t9223372036854775807\t9223372036854775807000\n");
}

// An order's key_id column: its 16 hex digits, or COPY's NULL marker when no key placed it.
TEST(copy_text, a_key_id_is_sixteen_hex_digits_and_no_key_is_null) {
  copy_text rows;
  rows.text("o-1").key(0x0000'00ab'cdef'0001ULL).end_row();
  rows.text("o-2").key(0).end_row();
  rows.null().end_row();
  EXPECT_EQ(rows.data(), "o-1\t000000abcdef0001\no-2\t\\N\n\\N\n");
}

}  // namespace
}  // namespace matchd::store
