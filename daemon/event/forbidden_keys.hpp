// Which metadata keys may not carry a value: DESIGN.md's secret-bearing names and
// ingest.forbidden_keys, compared in one normalized form.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace auditfwd {

// A key's comparable form: Unicode NFKC with case folding (utf8proc), then
// without '-', '_', spaces, control and default-ignorable characters, so
// "API-Key", "apiKey", "password\u0000", fullwidth "ｐａｓｓｗｏｒｄ" and "ſecret"
// read "apikey", "apikey", "password", "password", "secret". A key that is
// not valid UTF-8 (the JSON parser lets none through) is compared as ASCII.
std::string normalize_key(std::string_view key);

// The set of forbidden keys, held normalized. Lookups allocate nothing for a
// key of ASCII characters (the common case) and call utf8proc only for others.
class ForbiddenKeys {
 public:
  // DESIGN.md's list plus `extra` (ingest.forbidden_keys, as configured).
  explicit ForbiddenKeys(const std::vector<std::string>& extra = {});

  // DESIGN.md's list only.
  static const ForbiddenKeys& defaults();

  bool matches(std::string_view key) const;

 private:
  bool contains(std::string_view normalized) const;

  std::vector<std::string> normalized_;  // sorted, unique
  std::size_t longest_ = 0;
};

}  // namespace auditfwd
