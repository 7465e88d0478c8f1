// Cuts a byte stream into lines, skipping over-long ones to their newline.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace auditfwd {

// One piece of input: a complete line (without "\n" or "\r\n"), or the marker
// that a line exceeded the limit (reported once, when it crosses the limit;
// the rest of it up to its newline is dropped).
struct SplitLine {
  bool too_long = false;
  std::string text;
};

class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line_bytes) : max_(max_line_bytes) {}

  // Appends the lines completed by `data` to `out`. Blank lines are skipped:
  // they carry no event and get no reply; but a line over the limit is too long
  // even when it is blank, however the input is cut into reads.
  void feed(std::string_view data, std::vector<SplitLine>& out);

  // At end of input: a final line without newline counts as a line.
  void finish(std::vector<SplitLine>& out);

  // True while a line has begun and its newline has not come yet (also while an
  // over-long line is being skipped).
  bool in_line() const { return skipping_ || !partial_.empty(); }
  // Memory held for the unfinished line. A long line's memory is let go once it
  // ends, so a connection that once sent one does not keep it.
  std::size_t buffered_bytes() const { return partial_.capacity(); }

 private:
  void emit(std::string_view line, std::vector<SplitLine>& out);
  void clear_partial();

  std::size_t max_;
  std::string partial_;
  bool skipping_ = false;
};

}  // namespace auditfwd
