// The forwarders a chunk is dispatched to: one immutable set, replaced whole by a reload.
#pragma once

#include "forwarders/forwarder_slot.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace auditfwd {

// The configured forwarders, in config order: the columns of a chunk's results
// and the keys of its replies. Immutable once made; a reload makes a new set
// and the dispatcher hands it to the chunks that start after. A chunk keeps the
// set it started with (and so every forwarder in it) until its replies are built.
struct ForwarderSet {
  std::vector<std::shared_ptr<ForwarderSlot>> slots;
  std::vector<std::string> ids;
  std::vector<std::string> quoted_ids;  // the ids as JSON strings: the keys of a reply's results
};

// A set of `slots`. `on_released` (optional) runs once the last holder of the
// set lets go of it: on whatever thread that happens, so keep it quick.
std::shared_ptr<const ForwarderSet> make_forwarder_set(std::vector<std::shared_ptr<ForwarderSlot>> slots,
                                                       std::function<void()> on_released = {});

}  // namespace auditfwd
