// A shared library opened at run time (dlopen), for dependencies only some configurations need: the
// daemon does not carry their memory and start-up work unless a forwarder uses them.
#pragma once

#include <dlfcn.h>

#include <stdexcept>
#include <string>

namespace auditfwd {

class LoadedLibrary {
 public:
  // Opens `soname` (RTLD_NOW | RTLD_LOCAL); on failure `error` says why, with `package` to install. The
  // library stays loaded for the life of the process.
  LoadedLibrary(const char* soname, const char* package) : soname_(soname) {
    handle_ = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!handle_) {
      const char* reason = dlerror();
      error_ = std::string("cannot load ") + soname + " (install " + package + "): " + (reason ? reason : "?");
    }
  }

  // Sets `function` to the library's `name`; after a failure (this or an earlier one) does nothing.
  template <typename Function>
  void resolve(const char* name, Function& function) {
    if (!error_.empty()) return;
    dlerror();
    void* symbol = dlsym(handle_, name);
    if (!symbol) {
      const char* reason = dlerror();
      error_ = std::string(soname_) + " has no " + name + ": " + (reason ? reason : "?");
      return;
    }
    // POSIX guarantees a function pointer survives the trip through void* (dlsym's contract).
    function = reinterpret_cast<Function>(symbol);
  }

  // Empty when the library and every function resolved so far are there.
  const std::string& error() const { return error_; }

 private:
  const char* soname_;
  void* handle_ = nullptr;
  std::string error_;
};

// The functions `Functions` names, looked up in a library opened when first needed: the constructor
// opens `soname` and lets `resolve_all(library, functions)` resolve each. Meant as a function-local
// static (thread-safe, once); the library stays loaded.
template <typename Functions>
class OnDemandFunctions {
 public:
  template <typename ResolveAll>
  OnDemandFunctions(const char* soname, const char* package, ResolveAll resolve_all) {
    LoadedLibrary library(soname, package);
    resolve_all(library, functions_);
    error_ = library.error();
  }

  // The functions; nullptr when the library or one of them is missing, with the reason in `error`.
  const Functions* get(std::string& error) const {
    if (error_.empty()) return &functions_;
    error = error_;
    return nullptr;
  }

  // The functions; throws std::runtime_error when they are missing.
  const Functions& require() const {
    if (!error_.empty()) throw std::runtime_error(error_);
    return functions_;
  }

 private:
  Functions functions_{};
  std::string error_;
};

}  // namespace auditfwd
