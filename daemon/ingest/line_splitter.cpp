// NDJSON framing for wire protocol v1.
#include "ingest/line_splitter.hpp"

namespace auditfwd {

void LineSplitter::emit(std::string_view line, std::vector<SplitLine>& out) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) return;
  if (line.size() > max_) {
    out.push_back({true, {}});
    return;
  }
  out.push_back({false, std::string(line)});
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
      partial_.append(data);
      if (partial_.size() > max_ + 1) {  // +1: room for a trailing '\r'
        out.push_back({true, {}});
        partial_.clear();
        skipping_ = true;
      }
      return;
    }
    if (partial_.empty()) {
      emit(data.substr(0, newline), out);
    } else {
      partial_.append(data.substr(0, newline));
      emit(partial_, out);
      partial_.clear();
    }
    data.remove_prefix(newline + 1);
  }
}

void LineSplitter::finish(std::vector<SplitLine>& out) {
  if (!skipping_ && !partial_.empty()) emit(partial_, out);
  partial_.clear();
  skipping_ = false;
}

}  // namespace auditfwd
