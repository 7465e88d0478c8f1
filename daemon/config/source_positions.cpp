// Key paths to line:column: a lookup with fallback to the enclosing table, and a scanner for JSON text.
#include "config/source_positions.hpp"

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/string.hpp>

namespace auditfwd {

SourcePosition SourcePositions::find(std::string_view path) const {
  // A problem may quote a key holding dots (`properties."bootstrap.servers"`); positions are stored by the
  // key's characters joined with dots, as a table nested by those dots would be.
  std::string unquoted;
  if (path.find('"') != std::string_view::npos) {
    for (const char c : path)
      if (c != '"') unquoted += c;
    path = unquoted;
  }
  while (!path.empty()) {
    if (const auto it = positions_.find(path); it != positions_.end()) return it->second;
    // The enclosing table or list: "a.b[2]" → "a.b" → "a".
    const auto cut = path.back() == ']' ? path.rfind('[') : path.find_last_of(".[");
    if (cut == std::string_view::npos) break;
    path = path.substr(0, cut);
  }
  return {};
}

SourcePosition position_at(std::string_view text, std::size_t offset) {
  SourcePosition position;
  if (offset > text.size()) offset = text.size();
  for (std::size_t i = 0; i < offset; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte == '\n') {
      ++position.line;
      position.column = 1;
    } else if ((byte & 0xC0) != 0x80) {  // not a UTF-8 continuation byte
      ++position.column;
    }
  }
  return position;
}

namespace {

// A recursive descent over text already known to be valid JSON: it only finds
// where things are, the parser has checked what they are. Depth is bounded by
// the parser's own limit (Boost.JSON refuses documents nested deeper than 32).
class JsonScanner {
 public:
  explicit JsonScanner(std::string_view text) : text_(text) {}

  SourcePositions scan() {
    value("");
    return std::move(positions_);
  }

 private:
  void skip_space() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r'))
      ++at_;
  }

  // Past a string token starting at at_ (its opening quote); returns the token.
  std::string_view string_token() {
    const auto start = at_++;
    while (at_ < text_.size() && text_[at_] != '"') at_ += text_[at_] == '\\' ? std::size_t{2} : std::size_t{1};
    ++at_;  // the closing quote
    if (at_ > text_.size()) at_ = text_.size();
    return text_.substr(start, at_ - start);
  }

  void record(std::string path, std::size_t offset) {
    // Positions are computed incrementally: offsets only grow.
    for (; counted_ < offset; ++counted_) {
      const auto byte = static_cast<unsigned char>(text_[counted_]);
      if (byte == '\n') {
        ++here_.line;
        here_.column = 1;
      } else if ((byte & 0xC0) != 0x80) {
        ++here_.column;
      }
    }
    positions_.add(std::move(path), here_);
  }

  void value(const std::string& path) {
    skip_space();
    if (at_ >= text_.size()) return;
    const char c = text_[at_];
    if (c == '{') {
      ++at_;
      for (;;) {
        skip_space();
        if (at_ >= text_.size() || text_[at_] == '}') break;
        if (text_[at_] == ',') {
          ++at_;
          continue;
        }
        const auto key_offset = at_;
        const auto token = string_token();
        boost::system::error_code ec;
        const auto decoded = boost::json::parse(token, ec);
        const std::string key = !ec && decoded.is_string() ? std::string(decoded.get_string()) : std::string();
        const std::string child = path.empty() ? key : path + "." + key;
        record(child, key_offset);
        skip_space();
        if (at_ < text_.size() && text_[at_] == ':') ++at_;
        value(child);
      }
      if (at_ < text_.size()) ++at_;
    } else if (c == '[') {
      ++at_;
      for (std::size_t index = 0;;) {
        skip_space();
        if (at_ >= text_.size() || text_[at_] == ']') break;
        if (text_[at_] == ',') {
          ++at_;
          continue;
        }
        const std::string child = fmt::format("{}[{}]", path, index++);
        record(child, at_);
        value(child);
      }
      if (at_ < text_.size()) ++at_;
    } else if (c == '"') {
      string_token();
    } else {
      while (at_ < text_.size() && text_[at_] != ',' && text_[at_] != '}' && text_[at_] != ']' && text_[at_] != ' ' &&
             text_[at_] != '\n' && text_[at_] != '\t' && text_[at_] != '\r')
        ++at_;
    }
  }

  std::string_view text_;
  std::size_t at_ = 0;
  std::size_t counted_ = 0;
  SourcePosition here_;
  SourcePositions positions_;
};

}  // namespace

SourcePositions json_positions(std::string_view json) { return JsonScanner(json).scan(); }

}  // namespace auditfwd
