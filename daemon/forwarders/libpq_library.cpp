// libpq.so.5 opened once, each function the forwarder uses looked up by name.
#include "forwarders/libpq_library.hpp"

#include "forwarders/loaded_library.hpp"

#include <stdexcept>

namespace auditfwd {
namespace {

struct Loaded {
  LibPq functions{};
  std::string error;  // empty when loaded
};

#define AUDITFWD_RESOLVE(name) library.resolve(#name, loaded.functions.name)

Loaded load() {
  Loaded loaded;
  LoadedLibrary library("libpq.so.5", "libpq5");
  AUDITFWD_RESOLVE(PQconnectdbParams);
  AUDITFWD_RESOLVE(PQstatus);
  AUDITFWD_RESOLVE(PQerrorMessage);
  AUDITFWD_RESOLVE(PQfinish);
  AUDITFWD_RESOLVE(PQexec);
  AUDITFWD_RESOLVE(PQprepare);
  AUDITFWD_RESOLVE(PQexecPrepared);
  AUDITFWD_RESOLVE(PQresultStatus);
  AUDITFWD_RESOLVE(PQresultErrorField);
  AUDITFWD_RESOLVE(PQresultErrorMessage);
  AUDITFWD_RESOLVE(PQclear);
  AUDITFWD_RESOLVE(PQserverVersion);
  AUDITFWD_RESOLVE(PQconninfoParse);
  AUDITFWD_RESOLVE(PQconninfoFree);
  AUDITFWD_RESOLVE(PQfreemem);
  loaded.error = library.error();
  return loaded;
}

#undef AUDITFWD_RESOLVE

const Loaded& loaded() {
  static const Loaded once = load();  // thread-safe, once
  return once;
}

}  // namespace

const LibPq* load_libpq(std::string& error) {
  const auto& state = loaded();
  if (!state.error.empty()) {
    error = state.error;
    return nullptr;
  }
  return &state.functions;
}

const LibPq& libpq() {
  std::string error;
  if (const auto* functions = load_libpq(error)) return *functions;
  throw std::runtime_error(error);
}

}  // namespace auditfwd
