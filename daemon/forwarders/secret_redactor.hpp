// Keeping a forwarder's configured secrets out of what is stored or logged: job
// errors, log lines, sync replies, and receiver bodies quoted in them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace auditfwd {

// Replaces each occurrence of a configured secret value with "[REDACTED]".
// Also matches each secret as it appears JSON-escaped (a receiver that echoes
// the request back in JSON writes "a\/b" for "a/b"). Longer secrets are
// matched first, and a replacement is never searched again.
class SecretRedactor {
 public:
  static constexpr std::string_view mark = "[REDACTED]";

  SecretRedactor() = default;
  explicit SecretRedactor(const std::vector<std::string>& secrets);

  bool empty() const noexcept { return secrets_.empty(); }
  std::string redact(std::string_view text) const;

 private:
  std::vector<std::string> secrets_;  // longest first, no empty one
};

// True for a configuration name that suggests its value is a secret: after
// normalize_key, it contains "auth", "token", "secret", "passw", "passwd",
// "key", "cookie", "credential", "signature" or "session" ("X-API-Key",
// "Authorization", "DB_PASSWORD"). Used for header, query and env names, whose
// values the configuration does not mark as secret.
bool names_a_secret(std::string_view name);

}  // namespace auditfwd
