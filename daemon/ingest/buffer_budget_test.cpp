// Unit tests for the ingest memory budget: per-connection cap, global limit, the floor, wake-ups.
#include "ingest/buffer_budget.hpp"

#include <doctest/doctest.h>
#include <vector>

using namespace auditfwd;

TEST_CASE("below the limit a connection may hold up to per_connection, never past the room left") {
  BufferBudget budget(10'000, 4'000, 1'000);
  CHECK(budget.allowance(0) == 4'000);
  budget.update(0, 3'000);
  CHECK(budget.allowance(3'000) == 4'000);
  budget.update(0, 5'000);  // another connection: 8 000 held in all
  CHECK(budget.total() == 8'000);
  CHECK(budget.allowance(3'000) == 4'000);
  CHECK(budget.allowance(0) == 2'000);  // only the room left
  budget.update(0, 1'500);              // 9 500
  CHECK(budget.allowance(0) == 1'000);  // the floor, not less
}

TEST_CASE("at the limit every connection keeps its floor; room wakes the waiters once") {
  BufferBudget budget(10'000, 8'000, 1'000);
  budget.update(0, 8'000);
  budget.update(0, 2'000);
  CHECK(budget.allowance(8'000) == 1'000);
  CHECK(budget.allowance(0) == 1'000);
  int woken = 0;
  budget.when_room([&] { ++woken; });
  budget.update(0, 500);  // growing never wakes
  CHECK(woken == 0);
  budget.update(8'500, 8'000);  // 10 000: still at the limit
  CHECK(woken == 0);
  budget.update(8'000, 100);
  CHECK(woken == 1);
  budget.update(100, 0);
  CHECK(woken == 1);
  budget.when_room([&] { ++woken; });  // room now: at once
  CHECK(woken == 2);
  CHECK(budget.take_peak() == 10'500);
  CHECK(budget.take_peak() == budget.total());
}

TEST_CASE("freed room wakes as many waiters as it holds at a floor each, oldest first") {
  BufferBudget budget(10'000, 8'000, 1'000);
  budget.update(0, 10'000);
  std::vector<int> woken;
  for (int i = 0; i < 5; ++i) budget.when_room([&woken, i] { woken.push_back(i); });
  budget.update(10'000, 9'500);  // 500 bytes of room: one waiter
  CHECK(woken == std::vector<int>{0});
  budget.update(9'500, 7'500);  // 2 500: three more
  CHECK(woken == std::vector<int>{0, 1, 2, 3});
  budget.update(7'500, 0);
  CHECK(woken == std::vector<int>{0, 1, 2, 3, 4});
}
