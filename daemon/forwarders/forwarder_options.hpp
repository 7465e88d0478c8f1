// Reading a forwarder's own keys so that check-config names every problem among them.
#pragma once

#include "config/config.hpp"
#include "config/config_problems.hpp"
#include "config/config_reader.hpp"

#include <optional>
#include <type_traits>

namespace auditfwd {

// Runs `read` with a reader that collects problems instead of stopping at the first,
// so a forwarder with two bad keys gets both named. A problem `read` throws (one the
// rest cannot be read past) joins those collected. Throws ConfigError with all of
// them, else returns what `read` returned: build nothing inside `read` that a bad
// value could break, only after it.
template <class Read>
std::invoke_result_t<Read, ConfigReader&> read_forwarder_options(const ForwarderConfig& config, Read&& read) {
  ConfigProblems problems(config.file, nullptr);
  ConfigReader reader(config.options, config.file, config.path, &problems);
  std::optional<std::invoke_result_t<Read, ConfigReader&>> options;
  try {
    options.emplace(read(reader));
  } catch (const ConfigError& e) {
    for (const auto& problem : e.problems()) problems.add(problem);
  }
  problems.throw_if_any();
  return std::move(*options);
}

}  // namespace auditfwd
