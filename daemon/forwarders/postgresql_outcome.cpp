// SQLSTATE classes to outcomes: what a retry cannot change is permanent, the rest is retried.
#include "forwarders/postgresql_outcome.hpp"

#include <fmt/format.h>
#include <array>

namespace auditfwd {
namespace {

std::string_view sqlstate_class(std::string_view sqlstate) { return sqlstate.substr(0, 2); }

}  // namespace

bool postgresql_row_error(std::string_view sqlstate) {
  const auto kind = sqlstate_class(sqlstate);
  return kind == "21" || kind == "22" || kind == "23";
}

DeliveryOutcome postgresql_outcome(std::string_view sqlstate, std::string_view message) {
  std::string text(message);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  auto reason = sqlstate.empty() ? fmt::format("postgresql: {}", text)
                                 : fmt::format("postgresql: {} (SQLSTATE {})", text, sqlstate);
  static constexpr std::array<std::string_view, 2> permanent_classes = {"44", "0A"};
  const auto kind = sqlstate_class(sqlstate);
  if (postgresql_row_error(sqlstate)) return DeliveryOutcome::permanent(std::move(reason));
  for (const auto permanent : permanent_classes)
    if (kind == permanent) return DeliveryOutcome::permanent(std::move(reason));
  return DeliveryOutcome::retry(std::move(reason));
}

}  // namespace auditfwd
