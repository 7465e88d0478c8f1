#include "common/printable_text.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;

TEST_CASE("printable_prefix keeps one line and whole UTF-8 characters") {
  CHECK(printable_prefix("a\nb\x01", 10) == "a b?");
  CHECK(printable_prefix("\xc3\xa9\xc3\xa9", 3) == "\xc3\xa9");  // never half of "é"
}
