// Building a ForwarderSet, with a hook for when the last chunk using it is done.
#include "dispatch/forwarder_set.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace auditfwd {

std::shared_ptr<const ForwarderSet> make_forwarder_set(std::vector<std::shared_ptr<ForwarderSlot>> slots,
                                                       std::function<void()> on_released) {
  auto set = std::make_unique<ForwarderSet>();
  for (const auto& slot : slots) {
    set->ids.push_back(slot->config.id);
    set->quoted_ids.push_back(boost::json::serialize(boost::json::string(slot->config.id)));
  }
  set->slots = std::move(slots);
  if (!on_released) return std::shared_ptr<const ForwarderSet>(std::move(set));
  return std::shared_ptr<const ForwarderSet>(set.release(),
                                             [on_released = std::move(on_released)](const ForwarderSet* released) {
                                               delete released;
                                               on_released();
                                             });
}

}  // namespace auditfwd
