// A shared library opened at run time (dlopen), for dependencies only some configurations need: the
// daemon does not carry their memory and start-up work unless a forwarder uses them.
#pragma once

#include <dlfcn.h>

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

}  // namespace auditfwd
