// Where each key of a config file is: line and column by key path, for error messages.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace auditfwd {

struct SourcePosition {
  int line = 1;    // 1-based
  int column = 1;  // 1-based, in characters (UTF-8 code points)
};

// Key paths as the loader names them ("ingest.socket", "forwarders[1].url")
// mapped to where each key (or list item) begins in the text.
class SourcePositions {
 public:
  void add(std::string path, SourcePosition position) { positions_.insert_or_assign(std::move(path), position); }
  // The position of `path`; for a key that is absent (a required key left
  // out), that of its nearest enclosing table or list; else line 1, column 1.
  SourcePosition find(std::string_view path) const;
  std::size_t size() const { return positions_.size(); }

 private:
  std::map<std::string, SourcePosition, std::less<>> positions_;
};

// The line and column of byte `offset` of `text` (clamped to its end).
SourcePosition position_at(std::string_view text, std::size_t offset);

// The positions of every key and list item of `json`, which must be a valid
// JSON document (parse it first). Object keys are decoded (escapes resolved)
// as the parser decodes them.
SourcePositions json_positions(std::string_view json);

}  // namespace auditfwd
