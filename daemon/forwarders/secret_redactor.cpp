// Redacting configured secret values from outcome reasons and log lines.
#include "forwarders/secret_redactor.hpp"

#include "event/forbidden_keys.hpp"

#include <algorithm>
#include <array>
#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>

namespace auditfwd {

SecretRedactor::SecretRedactor(const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    if (secret.empty()) continue;
    secrets_.push_back(secret);
    auto escaped = boost::json::serialize(boost::json::string_view(secret.data(), secret.size()));
    escaped = escaped.substr(1, escaped.size() - 2);  // without the quotes
    if (escaped != secret) secrets_.push_back(escaped);
    // Boost.JSON leaves '/' alone; many receivers escape it.
    if (secret.find('/') != std::string::npos) {
      std::string slashes;
      for (char c : escaped) {
        if (c == '/') slashes += '\\';
        slashes += c;
      }
      secrets_.push_back(slashes);
    }
  }
  std::sort(secrets_.begin(), secrets_.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  });
  secrets_.erase(std::unique(secrets_.begin(), secrets_.end()), secrets_.end());
}

std::string SecretRedactor::redact(std::string_view text) const {
  if (secrets_.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto rest = text.substr(pos);
    const auto found = std::find_if(secrets_.begin(), secrets_.end(),
                                    [&](const std::string& secret) { return rest.starts_with(secret); });
    if (found != secrets_.end()) {
      out.append(mark);
      pos += found->size();
    } else {
      out.push_back(text[pos++]);
    }
  }
  return out;
}

bool names_a_secret(std::string_view name) {
  static constexpr std::array<std::string_view, 10> hints = {"auth", "token",  "secret",     "passw",     "passwd",
                                                             "key",  "cookie", "credential", "signature", "session"};
  const auto normalized = normalize_key(name);
  return std::any_of(hints.begin(), hints.end(),
                     [&](std::string_view hint) { return normalized.find(hint) != std::string::npos; });
}

}  // namespace auditfwd
