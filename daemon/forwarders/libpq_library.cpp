// libpq.so.5 opened once, each function the forwarder uses looked up by name.
#include "forwarders/libpq_library.hpp"

#include "forwarders/loaded_library.hpp"

namespace auditfwd {
namespace {

const OnDemandFunctions<LibPq>& library() {
#define AUDITFWD_RESOLVE(name) loaded.resolve(#name, functions.name)
  static const OnDemandFunctions<LibPq> once("libpq.so.5", "libpq5", [](LoadedLibrary& loaded, LibPq& functions) {
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
  });
#undef AUDITFWD_RESOLVE
  return once;
}

}  // namespace

const LibPq* load_libpq(std::string& error) { return library().get(error); }

const LibPq& libpq() { return library().require(); }

}  // namespace auditfwd
