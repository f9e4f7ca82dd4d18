#include <gtest/gtest.h>

#include <string>

#include <matchd/engine/types.h>

namespace matchd::engine {
namespace {

TEST(valid_id, accepts_1_to_64_chars_of_the_api_alphabet) {
  EXPECT_TRUE(valid_id("a"));
  EXPECT_TRUE(valid_id("order-1.A_b:9"));
  EXPECT_TRUE(valid_id(std::string(64, 'k')));
}

TEST(valid_id, refuses_empty_too_long_and_other_chars) {
  EXPECT_FALSE(valid_id(""));
  EXPECT_FALSE(valid_id(std::string(65, 'k')));
  for (const char* bad : {"a b", "a/b", "a\"b", "é", "a+b", "a\nb", "a,b"}) {
    EXPECT_FALSE(valid_id(bad)) << bad;
  }
}

TEST(fixed_string, keeps_an_id_of_the_maximum_length_whole) {
  const std::string id(kMaxIdLength, 'z');
  EXPECT_EQ(order_id::from(id).view(), id);
}

}  // namespace
}  // namespace matchd::engine
