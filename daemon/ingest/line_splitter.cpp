// NDJSON framing for wire protocol v1.
#include "ingest/line_splitter.hpp"

namespace auditfwd {

void LineSplitter::emit(std::string_view line, std::vector<SplitLine>& out) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // Length first: a long line that crossed the limit in an earlier read was
  // reported before its content was seen, so a blank one must be too when it
  // comes in one read, or the reply would depend on how the kernel cut the stream.
  if (line.size() > max_) {
    out.push_back({true, {}});
    return;
  }
  if (line.find_first_not_of(" \t") == std::string_view::npos) return;
  out.push_back({false, std::string(line)});
}

void LineSplitter::clear_partial() {
  constexpr std::size_t kept_capacity = 4096;
  if (partial_.capacity() > kept_capacity)
    std::string().swap(partial_);
  else
    partial_.clear();
}

void LineSplitter::feed(std::string_view data, std::vector<SplitLine>& out) {
  while (!data.empty()) {
    const auto newline = data.find('\n');
    if (skipping_) {
      if (newline == std::string_view::npos) return;
      skipping_ = false;
      data.remove_prefix(newline + 1);
      continue;
    }
    if (newline == std::string_view::npos) {
      if (partial_.size() + data.size() > max_ + 1) {  // +1: room for a trailing '\r'
        out.push_back({true, {}});
        clear_partial();
        skipping_ = true;
        return;
      }
      partial_.append(data);
      return;
    }
    if (partial_.empty()) {
      emit(data.substr(0, newline), out);
    } else {
      partial_.append(data.substr(0, newline));
      emit(partial_, out);
      clear_partial();
    }
    data.remove_prefix(newline + 1);
  }
}

void LineSplitter::finish(std::vector<SplitLine>& out) {
  if (!skipping_ && !partial_.empty()) emit(partial_, out);
  clear_partial();
  skipping_ = false;
}

}  // namespace auditfwd
