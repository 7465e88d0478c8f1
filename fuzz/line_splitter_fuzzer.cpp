// Fuzzes LineSplitter (NDJSON framing of the ingest socket) against a model of its
// contract, fed in chunks the way reads from a socket arrive.
//
// Invariants:
//  - the output does not depend on how the input is cut into reads: it equals the
//    model's, which splits the whole input at '\n', drops one trailing '\r', reports
//    a line longer than the limit as too_long, skips blank lines and emits the rest
//    as they are: the emitted lines are exactly the input's, less those;
//  - no emitted line exceeds the limit or holds a '\n'; a too_long marker has no text;
//  - the memory held between reads stays within max(4KiB, 2 * (limit + 1)), however
//    long a line is;
//  - in_line() tells whether an unfinished line is pending, and is false after finish().
#include "fuzz_check.hpp"
#include "ingest/line_splitter.hpp"

#include <fuzzer/FuzzedDataProvider.h>
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

using auditfwd::LineSplitter;
using auditfwd::SplitLine;

namespace {

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t") == std::string_view::npos; }

// The contract, on the whole input at once. Without finish, a final line without
// its newline has been reported only if it already crossed the limit (+1 for a '\r').
std::vector<SplitLine> model(std::string_view input, std::size_t max, bool finished) {
  std::vector<SplitLine> out;
  while (!input.empty()) {
    const auto newline = input.find('\n');
    std::string_view line = input.substr(0, newline);
    input.remove_prefix(newline == std::string_view::npos ? input.size() : newline + 1);
    if (newline == std::string_view::npos && !finished) {
      if (line.size() > max + 1) out.push_back({true, {}});
      break;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > max)
      out.push_back({true, {}});
    else if (!is_blank(line))
      out.push_back({false, std::string(line)});
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider provider(data, size);
  // Small limits reach every edge; the daemon's are 256 B to 16 MiB.
  const auto max = provider.ConsumeIntegralInRange<std::size_t>(1, 300);
  const auto cutting = provider.ConsumeIntegralInRange<int>(0, 3);
  std::uint32_t random = provider.ConsumeIntegral<std::uint32_t>() | 1;
  const bool finished = provider.ConsumeBool();
  const std::string input = provider.ConsumeRemainingBytesAsString();

  LineSplitter splitter(max);
  std::vector<SplitLine> out;
  const std::size_t held_bound = std::max<std::size_t>(4096, 2 * (max + 1));
  std::string_view rest(input);
  while (!rest.empty()) {
    random ^= random << 13;
    random ^= random >> 17;
    random ^= random << 5;
    std::size_t chunk = rest.size();  // cutting 0: one read
    if (cutting == 1)
      chunk = 1;
    else if (cutting == 2)
      chunk = 1 + random % 8;
    else if (cutting == 3)
      chunk = 1 + random % (2 * max + 2);
    chunk = std::min(chunk, rest.size());
    splitter.feed(rest.substr(0, chunk), out);
    rest.remove_prefix(chunk);
    FUZZ_CHECK(splitter.buffered_bytes() <= held_bound);
  }
  const auto last_newline = input.rfind('\n');
  const bool pending = input.size() != (last_newline == std::string::npos ? 0 : last_newline + 1);
  FUZZ_CHECK(splitter.in_line() == pending);
  if (finished) {
    splitter.finish(out);
    FUZZ_CHECK(!splitter.in_line());
    FUZZ_CHECK(splitter.buffered_bytes() <= 4096);
  }

  for (const auto& line : out) {
    if (line.too_long) FUZZ_CHECK(line.text.empty());
    FUZZ_CHECK(line.text.size() <= max);
    FUZZ_CHECK(line.text.find('\n') == std::string::npos);
  }
  const auto expected = model(input, max, finished);
  FUZZ_CHECK(out.size() == expected.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    FUZZ_CHECK(out[i].too_long == expected[i].too_long);
    FUZZ_CHECK(out[i].text == expected[i].text);
  }
  return 0;
}
