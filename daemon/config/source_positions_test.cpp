#include "config/source_positions.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;

namespace {
std::string at(const SourcePositions& positions, std::string_view path) {
  const auto p = positions.find(path);
  return std::to_string(p.line) + ":" + std::to_string(p.column);
}
}  // namespace

TEST_CASE("json_positions: keys and list items at their line and column, escapes decoded") {
  const std::string text = "{\"a\": 1,\n \"b\": {\"c\\u0064\": [10, {\"e\": \"}\\\"]\"}]},\n\t\"é\": {}, \"z\": null}";
  const auto positions = json_positions(text);
  CHECK(at(positions, "a") == "1:2");
  CHECK(at(positions, "b") == "2:2");
  CHECK(at(positions, "b.cd") == "2:8");
  CHECK(at(positions, "b.cd[0]") == "2:20");
  CHECK(at(positions, "b.cd[1]") == "2:24");
  CHECK(at(positions, "b.cd[1].e") == "2:25");
  CHECK(at(positions, "é") == "3:2");
  CHECK(at(positions, "z") == "3:11");  // columns count characters, not bytes
  // An absent key: its nearest enclosing table or list.
  CHECK(at(positions, "b.cd[1].missing") == "2:24");
  CHECK(at(positions, "b.x") == "2:2");
  CHECK(at(positions, "nothing.at.all") == "1:1");
}

TEST_CASE("position_at counts lines and characters up to a byte offset") {
  CHECK(position_at("ab\ncd", 0).line == 1);
  CHECK(position_at("ab\ncd", 4).line == 2);
  CHECK(position_at("ab\ncd", 4).column == 2);
  CHECK(position_at("ab", 99).column == 3);  // clamped to the end
}

TEST_CASE("a quoted key with dots is found where the key is") {
  const auto positions = json_positions("{\"properties\": {\n  \"bootstrap.servers\": \"x\",\n  \"acks\": 1}}");
  CHECK(at(positions, "properties.\"bootstrap.servers\"") == "2:3");
  CHECK(at(positions, "properties.\"acks\"") == "3:3");
  CHECK(at(positions, "properties.\"no.such.key\"") == "1:2");  // absent: the enclosing table
}
