// The auditfwd error category: stable wire names and human messages.
#include "common/error.hpp"

#include <string>

namespace auditfwd {
namespace {

// Boost's error_category has a protected non-virtual destructor by design: a
// category is a static object never deleted through a base pointer.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "auditfwd"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::ok: return "success";
      case errc::invalid_json: return "the line is not a JSON object";
      case errc::invalid_event: return "the event breaks a field rule";
      case errc::too_large: return "the line exceeds ingest.max_event_bytes";
      case errc::forbidden_key: return "metadata holds a secret-bearing key";
      case errc::unavailable: return "the daemon cannot take events now";
      case errc::async_unavailable: return "async dispatch needs an enabled, healthy job store";
      case errc::store_full: return "the job store reached its configured limit";
      case errc::store_error: return "the job store failed to commit";
      case errc::timeout: return "the delivery exceeded the forwarder's timeout";
      case errc::delivery_failed: return "the forwarder failed to deliver";
      case errc::id_conflict: return "the id was already used for another event or by another sender";
      case errc::not_permitted: return "no ingest.allow rule grants the sender this action";
      case errc::rate_limited: return "the sender is over the rate its ingest.allow rule grants";
    }
    return "unknown auditfwd error";
  }
};
#pragma GCC diagnostic pop

}  // namespace

const boost::system::error_category& auditfwd_category() noexcept {
  static const category instance;
  return instance;
}

std::string_view error_name(errc e) noexcept {
  switch (e) {
    case errc::ok: return "ok";
    case errc::invalid_json: return "invalid_json";
    case errc::invalid_event: return "invalid_event";
    case errc::too_large: return "too_large";
    case errc::forbidden_key: return "forbidden_key";
    case errc::unavailable: return "unavailable";
    case errc::async_unavailable: return "async_unavailable";
    case errc::store_full: return "store_full";
    case errc::store_error: return "store_error";
    case errc::timeout: return "timeout";
    case errc::delivery_failed: return "delivery_failed";
    case errc::id_conflict: return "id_conflict";
    case errc::not_permitted: return "not_permitted";
    case errc::rate_limited: return "rate_limited";
  }
  return "unknown";
}

}  // namespace auditfwd
