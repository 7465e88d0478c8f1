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

TEST_CASE("a blank over-long line is too long whether it comes in one read or several (fuzz finding)") {
  // fuzz/corpus/line_splitter/crash-blank-over-long-line: a limit of 1, "\t\t" then end
  // of input, was skipped as blank, while the same line cut into reads was too_long.
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
    CAPTURE(cut);
    const std::string input = std::string(20, ' ') + "\t\r\n" + "  \n" + std::string(10, '\t');
    LineSplitter splitter(10);
    std::vector<SplitLine> out;
    if (cut == 0) {
      splitter.feed(input, out);
    } else {
      for (std::size_t i = 0; i < input.size(); i += cut) splitter.feed(std::string_view(input).substr(i, cut), out);
    }
    splitter.finish(out);
    REQUIRE(out.size() == 1);  // the short blank line and the blank line of exactly 10 are skipped
    CHECK(out[0].too_long);
  }
  LineSplitter splitter(1);
  std::vector<SplitLine> out;
  splitter.feed("\t\t", out);
  splitter.finish(out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].too_long);
}
