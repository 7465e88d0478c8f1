// Unit tests for NDJSON framing: partial reads, CRLF, blank lines, over-long lines.
#include "ingest/line_splitter.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;

TEST_CASE("lines split across reads are joined; CRLF and blank lines handled") {
  LineSplitter splitter(100);
  std::vector<SplitLine> out;
  splitter.feed("{\"a\":1}\n{\"b\"", out);
  splitter.feed(":2}\r\n\n   \n{\"c\":3}", out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].text == "{\"a\":1}");
  CHECK(out[1].text == "{\"b\":2}");
  splitter.finish(out);
  REQUIRE(out.size() == 3);
  CHECK(out[2].text == "{\"c\":3}");
}

TEST_CASE("an over-long line is reported once and skipped to its newline") {
  LineSplitter splitter(10);
  std::vector<SplitLine> out;
  splitter.feed("short\n" + std::string(8, 'x'), out);
  splitter.feed(std::string(8, 'x'), out);  // crosses the limit here
  splitter.feed(std::string(50, 'y'), out);
  splitter.feed("tail\nnext\n", out);
  REQUIRE(out.size() == 3);
  CHECK(out[0].text == "short");
  CHECK(out[1].too_long);
  CHECK(out[2].text == "next");
}

TEST_CASE("a complete over-long line in one read is too long") {
  LineSplitter splitter(4);
  std::vector<SplitLine> out;
  splitter.feed("123456\nok\n", out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].too_long);
  CHECK(out[1].text == "ok");
}

TEST_CASE("in_line while a line is unfinished; a long line's memory is let go when it ends") {
  LineSplitter splitter(1 << 20);
  std::vector<SplitLine> out;
  CHECK_FALSE(splitter.in_line());
  splitter.feed("{\"a\":", out);
  CHECK(splitter.in_line());
  splitter.feed(std::string(200'000, ' '), out);
  CHECK(splitter.buffered_bytes() >= 200'000);
  splitter.feed("1}\n", out);
  REQUIRE(out.size() == 1);
  CHECK_FALSE(splitter.in_line());
  CHECK(splitter.buffered_bytes() <= 4096);
}

TEST_CASE("an over-long line is skipped without being held: in_line until its newline") {
  LineSplitter splitter(1000);
  std::vector<SplitLine> out;
  for (int i = 0; i < 100; ++i) splitter.feed(std::string(10'000, 'x'), out);
  CHECK(splitter.in_line());
  CHECK(splitter.buffered_bytes() <= 4096);
  splitter.feed("\n", out);
  CHECK_FALSE(splitter.in_line());
  REQUIRE(out.size() == 1);
  CHECK(out[0].too_long);
}
