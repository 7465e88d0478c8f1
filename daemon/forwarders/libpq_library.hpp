// libpq, loaded when the first `postgresql` forwarder is configured instead of linked: libpq pulls in
// LDAP, Kerberos and GnuTLS (about 3 MiB of resident memory in every daemon, and GnuTLS's start-up
// work), which a daemon without a PostgreSQL destination should not carry.
#pragma once

#include <libpq-fe.h>

#include <string>

namespace auditfwd {

// The libpq functions the postgresql forwarder calls, resolved from libpq.so.5 (Debian's libpq5).
struct LibPq {
  decltype(&::PQconnectdbParams) PQconnectdbParams;
  decltype(&::PQstatus) PQstatus;
  decltype(&::PQerrorMessage) PQerrorMessage;
  decltype(&::PQfinish) PQfinish;
  decltype(&::PQexec) PQexec;
  decltype(&::PQprepare) PQprepare;
  decltype(&::PQexecPrepared) PQexecPrepared;
  decltype(&::PQresultStatus) PQresultStatus;
  decltype(&::PQresultErrorField) PQresultErrorField;
  decltype(&::PQresultErrorMessage) PQresultErrorMessage;
  decltype(&::PQclear) PQclear;
  decltype(&::PQserverVersion) PQserverVersion;
  decltype(&::PQconninfoParse) PQconninfoParse;
  decltype(&::PQconninfoFree) PQconninfoFree;
  decltype(&::PQfreemem) PQfreemem;
};

// libpq, loaded on the first call (thread-safe; it stays loaded). nullptr when it cannot be, with the
// reason in `error` (dlopen's or dlsym's message).
const LibPq* load_libpq(std::string& error);

// The loaded libpq (loaded now if need be); throws std::runtime_error when it cannot be. A configured
// forwarder has checked it already: its settings call load_libpq.
const LibPq& libpq();

}  // namespace auditfwd
