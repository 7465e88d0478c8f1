#include "common/printable_text.hpp"

namespace auditfwd {

std::string printable_prefix(std::string_view text, std::size_t limit) {
  if (text.size() > limit) {
    std::size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 sequence
    text = text.substr(0, cut);
  }
  std::string out(text);
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = c == '\n' || c == '\r' || c == '\t' ? ' ' : '?';
  return out;
}

}  // namespace auditfwd
