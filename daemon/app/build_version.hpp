// The version this binary was built as, baked in at build time (cmake/build_version.cmake).
#pragma once

#include <string_view>

namespace auditfwd {

// The project version of CMakeLists.txt, e.g. "0.1.0".
std::string_view project_version();

// The project version, plus `git describe --always --dirty` of the source tree
// when it was built from a git checkout: "0.1.0 (git 20dffdc1a2b3-dirty)".
std::string_view build_version();

}  // namespace auditfwd
