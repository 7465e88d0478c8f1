// Unit tests for HandoffRouter: new jobs straight to workers, never ahead of waiting ones.
#include "store/handoff_router.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;

namespace {

struct Router {
  ForwarderDirectory forwarders;
  HandoffRouter router{forwarders};
  std::shared_ptr<JobHandoff> handoff = std::make_shared<JobHandoff>(2);
  ForwarderJobs& a = forwarders["a"];
  Router() {
    a.handoff = handoff;
    HandoffRouter::caught_up(a, INT64_MAX);  // as after the first claim found nothing
  }
  std::vector<ClaimedJob> taken() {
    std::vector<ClaimedJob> jobs;
    handoff->take(jobs, 100, 0);
    return jobs;
  }
};

}  // namespace

TEST_CASE("HandoffRouter: jobs are handed over while there is room, after the commit, in order") {
  Router r;
  for (std::int64_t id = 1; id <= 2; ++id) {
    auto* handoff = r.router.reserve(r.a, 0);
    REQUIRE(handoff == r.handoff.get());
    r.router.hand(handoff, ClaimedJob{id, 1, 3, "{}", 1});
  }
  CHECK(r.taken().empty());                    // not before the commit
  CHECK(r.router.reserve(r.a, 0) == nullptr);  // full: this job waits for a claim…
  r.router.push_all();
  const auto jobs = r.taken();
  REQUIRE(jobs.size() == 2);
  CHECK(jobs[0].id == 1);
  CHECK(jobs[1].id == 2);
  CHECK(r.router.reserve(r.a, 0) == nullptr);  // …and so do later ones, though there is room again
  HandoffRouter::caught_up(r.a, INT64_MAX);
  CHECK(r.router.reserve(r.a, 0) != nullptr);
}

TEST_CASE("HandoffRouter: a retry that falls due goes before new jobs") {
  Router r;
  HandoffRouter::retry_scheduled(r.a, 1'000);
  CHECK(r.router.reserve(r.a, 999) != nullptr);
  CHECK(r.router.reserve(r.a, 1'000) == nullptr);
}

TEST_CASE("HandoffRouter: a rollback cancels the reservations from its mark, and every forwarder claims first") {
  Router r;
  r.router.hand(r.router.reserve(r.a, 0), ClaimedJob{1, 1, 3, "{}", 1});
  const auto mark = r.router.mark();
  r.router.hand(r.router.reserve(r.a, 0), ClaimedJob{2, 1, 3, "{}", 1});
  r.router.cancel_from(mark);
  r.router.push_all();
  const auto jobs = r.taken();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].id == 1);
  CHECK(r.router.reserve(r.a, 0) == nullptr);  // the cancelled job waits in the store: a claim goes first
}
