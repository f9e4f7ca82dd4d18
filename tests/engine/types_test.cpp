#include <gtest/gtest.h>
#include <matchd/engine/types.h>

#include <boost/container_hash/hash.hpp>
#include <string>

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

// boost::hash reaches the id's text through hash_value: equal ids hash alike whatever
// their unused capacity held, and the text's last character counts.
TEST(fixed_string, hashes_its_text_for_boost_containers) {
  const boost::hash<order_id> hash;
  const std::string id = "7d3f2a9c-0b1e-4c55-9a61-2f8e4b7c1d03";
  EXPECT_EQ(hash(order_id::from(id)), std::hash<std::string_view>{}(id));
  EXPECT_EQ(hash(order_id::from(id)), hash(order_id::from(std::string(id))));
  EXPECT_NE(hash(order_id::from(id)), hash(order_id::from(id.substr(0, id.size() - 1) + "4")));
}

}  // namespace
}  // namespace matchd::engine
