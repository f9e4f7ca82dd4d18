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

}  // namespace
}  // namespace matchd::store
