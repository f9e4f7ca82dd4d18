// The server's route table and docs/openapi.yaml name the same (method, path) pairs, so
// neither can drift from the other; and the table itself is well-formed.

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/beast/http/verb.hpp>
#include <cctype>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

#include "routes.h"

namespace matchd::gateway {
namespace {

namespace http = boost::beast::http;

using route_set = std::set<std::string>;  // "GET /orders/{order_id}"

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

std::size_t indent_of(std::string_view line) {
  return line.find_first_not_of(' ');
}

// "key:" or "key: value" -> "key" (quotes removed); "" when the line is not a key.
std::string key_of(std::string_view line) {
  line.remove_prefix(indent_of(line));
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return {};
  // A path may contain ':' only inside quotes, which OpenAPI paths never need; take the
  // colon that ends the key.
  std::string_view key = line.substr(0, colon);
  if (key.size() >= 2 && (key.front() == '"' || key.front() == '\'') && key.back() == key.front()) {
    key = key.substr(1, key.size() - 2);
  }
  return std::string(key);
}

// A line-based reading of an OpenAPI document, enough for its `paths` object: `paths:` at
// column 0, each path at exactly two spaces, each operation at exactly four.
route_set openapi_routes(const std::string& file) {
  static const std::set<std::string, std::less<>> kMethods = {"get",     "put",  "post",  "delete",
                                                              "options", "head", "patch", "trace"};
  std::ifstream in(file);
  EXPECT_TRUE(in) << "cannot read " << file;
  route_set routes;
  bool in_paths = false;
  std::string path;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::size_t indent = indent_of(line);
    if (indent == std::string::npos || line[indent] == '#') continue;  // blank or comment
    if (indent == 0) {
      in_paths = key_of(line) == "paths";
      path.clear();
      continue;
    }
    if (!in_paths) continue;
    if (indent == 2) {
      path = key_of(line);
      EXPECT_TRUE(path.starts_with("/")) << "not a path under paths: \"" << line << "\"";
    } else if (indent == 4 && !path.empty() && kMethods.contains(key_of(line))) {
      routes.insert(upper(key_of(line)) + " " + path);
    }
  }
  return routes;
}

route_set table_routes() {
  route_set routes;
  for (const route& r : server_routes()) {
    routes.insert(std::string(http::to_string(r.method)) + " " + std::string(r.pattern));
  }
  return routes;
}

std::string listed(const route_set& s) {
  std::ostringstream out;
  for (const std::string& r : s) out << "\n    " << r;
  return s.empty() ? std::string(" (none)") : out.str();
}

TEST(RouteTable, IsTheSameSetOfMethodsAndPathsAsTheOpenApiDocument) {
  const std::string file = std::string(MATCHD_SOURCE_DIR) + "/docs/openapi.yaml";
  const route_set documented = openapi_routes(file);
  const route_set served = table_routes();
  route_set only_served;
  route_set only_documented;
  std::set_difference(served.begin(), served.end(), documented.begin(), documented.end(),
                      std::inserter(only_served, only_served.end()));
  std::set_difference(documented.begin(), documented.end(), served.begin(), served.end(),
                      std::inserter(only_documented, only_documented.end()));
  EXPECT_TRUE(only_served.empty() && only_documented.empty())
      << "the route table (src/gateway/routes.cpp) and " << file << " disagree"
      << "\n  served but not in openapi.yaml:" << listed(only_served)
      << "\n  in openapi.yaml but not served:" << listed(only_documented);
  EXPECT_FALSE(documented.empty()) << file << " has no paths";
}

TEST(RouteTable, EachMethodAndPathOnceWithAHandler) {
  std::set<std::string> seen;
  for (const route& r : server_routes()) {
    const std::string name = std::string(http::to_string(r.method)) + " " + std::string(r.pattern);
    EXPECT_TRUE(seen.insert(name).second) << name << " appears twice";
    EXPECT_NE(r.handler, nullptr) << name;
    EXPECT_TRUE(r.pattern.starts_with("/")) << name;
    EXPECT_FALSE(r.pattern.size() > 1 && r.pattern.ends_with("/")) << name;
  }
}

TEST(RouteTable, OnlyHealthReadinessAndMetricsAreOperational) {
  std::set<std::string_view> operational;
  for (const route& r : server_routes()) {
    if (r.needs == access::operational) operational.insert(r.pattern);
  }
  EXPECT_EQ(operational, (std::set<std::string_view>{"/healthz", "/metrics", "/readyz"}));
}

TEST(RouteTable, OrderEntryIsTradeAndSnapshotsAreAdmin) {
  for (const route& r : server_routes()) {
    const std::string name = std::string(http::to_string(r.method)) + " " + std::string(r.pattern);
    if (r.pattern.starts_with("/admin/")) {
      EXPECT_EQ(r.needs, access::admin) << name;
    }
    if (r.method != http::verb::get && r.pattern.starts_with("/orders")) {
      EXPECT_EQ(r.needs, access::trade) << name;
    }
    if (r.method == http::verb::get && r.pattern.starts_with("/orders")) {
      EXPECT_EQ(r.needs, access::account_read) << name;
    }
  }
}

}  // namespace
}  // namespace matchd::gateway
