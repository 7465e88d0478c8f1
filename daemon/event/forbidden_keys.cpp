// Secret-bearing metadata keys, matched after NFKC case folding (DESIGN.md's event table).
#include "event/forbidden_keys.hpp"

#include <utf8proc.h>
#include <algorithm>
#include <array>
#include <cstdlib>
#include <memory>

namespace auditfwd {
namespace {

// DESIGN.md's list, as written there; compared normalized ("api_key" → "apikey").
constexpr std::array<std::string_view, 22> design_keys = {
    "password",    "password_hash", "password_confirmation", "passwd",       "totp_code",
    "totp_secret", "backup_code",   "session_token",         "bearer_token", "api_key",
    "token",       "access_token",  "refresh_token",         "oauth_secret", "client_secret",
    "secret",      "private_key",   "authorization",         "credential",   "credentials",
    "cookie",      "set_cookie"};

// After folding: the separators DESIGN.md names, and the C0 controls and DEL
// that UTF8PROC_STRIPCC leaves as spaces or that the ASCII path meets.
bool dropped(unsigned char c) { return c == '-' || c == '_' || c == ' ' || c < 0x20 || c == 0x7f; }

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Appends the ASCII folding of `key` to `out`, stopping once it is longer than
// `limit` (no forbidden key can match then). False when stopped.
template <typename Out>
bool fold_ascii(std::string_view key, std::size_t limit, Out& out, std::size_t& size) {
  size = 0;
  for (char c : key) {
    const auto byte = static_cast<unsigned char>(c);
    if (dropped(byte)) continue;
    if (size == limit) return false;
    out[size++] = static_cast<char>(byte >= 'A' && byte <= 'Z' ? byte - 'A' + 'a' : byte);
  }
  return true;
}

}  // namespace

std::string normalize_key(std::string_view key) {
  std::string out;
  if (!is_ascii(key)) {
    utf8proc_uint8_t* mapped = nullptr;
    const auto size = utf8proc_map(
        reinterpret_cast<const utf8proc_uint8_t*>(key.data()), static_cast<utf8proc_ssize_t>(key.size()), &mapped,
        static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD |
                                       UTF8PROC_IGNORE | UTF8PROC_STRIPCC | UTF8PROC_LUMP));
    const std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(mapped, &std::free);
    if (size >= 0) {
      for (utf8proc_ssize_t i = 0; i < size; ++i)
        if (!dropped(mapped[i])) out.push_back(static_cast<char>(mapped[i]));
      return out;
    }
  }
  out.resize(key.size());
  std::size_t size = 0;
  fold_ascii(key, key.size(), out, size);
  out.resize(size);
  return out;
}

ForbiddenKeys::ForbiddenKeys(const std::vector<std::string>& extra) {
  for (auto key : design_keys) normalized_.push_back(normalize_key(key));
  for (const auto& key : extra) normalized_.push_back(normalize_key(key));
  std::erase(normalized_, std::string());
  std::sort(normalized_.begin(), normalized_.end());
  normalized_.erase(std::unique(normalized_.begin(), normalized_.end()), normalized_.end());
  for (const auto& key : normalized_) longest_ = std::max(longest_, key.size());
}

const ForbiddenKeys& ForbiddenKeys::defaults() {
  static const ForbiddenKeys keys;
  return keys;
}

bool ForbiddenKeys::matches(std::string_view key) const {
  if (is_ascii(key)) {
    // Plain ASCII folds to lower case: no allocation, no utf8proc call.
    char folded[64];
    std::size_t size = 0;
    if (longest_ > sizeof folded) return contains(normalize_key(key));
    return fold_ascii(key, longest_, folded, size) && contains(std::string_view(folded, size));
  }
  return contains(normalize_key(key));
}

bool ForbiddenKeys::contains(std::string_view normalized) const {
  return std::binary_search(normalized_.begin(), normalized_.end(), normalized, std::less<>());
}

}  // namespace auditfwd
