// Unit tests for connection admission: global cap, per-uid cap, slots reserved for root.
#include "ingest/connection_slots.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;

TEST_CASE("one uid takes at most max_per_uid slots; another uid still gets one") {
  ConnectionSlots slots({.max_connections = 10, .max_per_uid = 3, .reserved_for_root = 0});
  for (int i = 0; i < 3; ++i) CHECK_FALSE(slots.take(1000).has_value());
  CHECK(slots.take(1000) == SlotRefusal::max_per_uid);
  CHECK(slots.in_use_by(1000) == 3);
  CHECK_FALSE(slots.take(1001).has_value());
  slots.give_back(1000);
  CHECK_FALSE(slots.take(1000).has_value());
  CHECK(slots.in_use() == 4);
}

TEST_CASE("the last reserved_for_root slots are root's only; max_connections binds root too") {
  ConnectionSlots slots({.max_connections = 5, .max_per_uid = 100, .reserved_for_root = 2});
  for (uid_t uid = 1; uid <= 3; ++uid) CHECK_FALSE(slots.take(uid).has_value());
  CHECK(slots.take(4) == SlotRefusal::reserved_for_root);
  CHECK_FALSE(slots.take(0).has_value());
  CHECK_FALSE(slots.take(0).has_value());
  CHECK(slots.take(0) == SlotRefusal::max_connections);
  CHECK(slots.take(7) == SlotRefusal::max_connections);
  slots.give_back(0);
  slots.give_back(0);
  slots.give_back(2);
  CHECK_FALSE(slots.take(4).has_value());
  CHECK(slots.take(5) == SlotRefusal::reserved_for_root);
}

TEST_CASE("root is not bound by max_per_uid") {
  ConnectionSlots slots({.max_connections = 10, .max_per_uid = 1, .reserved_for_root = 0});
  for (int i = 0; i < 5; ++i) CHECK_FALSE(slots.take(0).has_value());
  CHECK(slots.in_use_by(0) == 5);
  CHECK_FALSE(slots.take(42).has_value());
  CHECK(slots.take(42) == SlotRefusal::max_per_uid);
}

TEST_CASE("a refused take and a stray give_back change nothing") {
  ConnectionSlots slots({.max_connections = 2, .max_per_uid = 1, .reserved_for_root = 0});
  CHECK_FALSE(slots.take(1).has_value());
  CHECK(slots.take(1) == SlotRefusal::max_per_uid);
  slots.give_back(99);
  CHECK(slots.in_use() == 1);
  CHECK(slots.in_use_by(1) == 1);
  CHECK(slots.in_use_by(99) == 0);
}

TEST_CASE("a reload's limits decide the next take; connections over them stay") {
  ConnectionSlots slots({.max_connections = 10, .max_per_uid = 3, .reserved_for_root = 0});
  for (int i = 0; i < 3; ++i) CHECK_FALSE(slots.take(1000).has_value());
  slots.set_limits({.max_connections = 10, .max_per_uid = 2, .reserved_for_root = 0});
  CHECK(slots.take(1000) == SlotRefusal::max_per_uid);
  CHECK(slots.in_use_by(1000) == 3);
  slots.give_back(1000);
  slots.give_back(1000);
  CHECK_FALSE(slots.take(1000).has_value());
  slots.set_limits({.max_connections = 10, .max_per_uid = 5, .reserved_for_root = 0});
  CHECK_FALSE(slots.take(1000).has_value());
}
