// group/vdi_locks.h: the lock table's rules (normal, shared, hand-over,
// release by holder, by connection and by node, snapshot move).
#include <doctest/doctest.h>

#include "group/vdi_locks.h"
#include "fake_peers.h"

namespace {

sd::LockHolder holder(uint16_t port, uint64_t conn) {
  sd::LockHolder h;
  h.nid.addr[15] = 1;
  h.nid.port = port;
  h.conn = conn;
  return h;
}

}  // namespace

TEST_CASE("VdiLocks: one normal holder; others are refused until it releases") {
  sd::VdiLocks locks;
  auto a = holder(7000, 1), b = holder(7001, 1);
  CHECK(locks.lock(5, a, false, 100) == sd::Res::Success);
  CHECK(locks.lock(5, a, false, 101) == sd::Res::Success);  // again: still ours
  CHECK(locks.lock(5, b, false, 102) == sd::Res::VdiLocked);
  CHECK(locks.lock(5, holder(7000, 2), false, 102) == sd::Res::VdiLocked);  // another connection
  REQUIRE(locks.get(5));
  CHECK(locks.get(5)->since == 100);
  CHECK(locks.get(5)->owner == a);
  CHECK(locks.holds_any(a));
  CHECK_FALSE(locks.holds_any(b));
  CHECK(locks.release(5, a) == sd::Res::Success);
  CHECK_FALSE(locks.get(5));
  CHECK(locks.release(5, a) == sd::Res::VdiNotLocked);
  CHECK(locks.lock(5, b, false, 103) == sd::Res::Success);
}

TEST_CASE("VdiLocks: RELEASE_VDI from anyone else breaks a normal lock (dog vdi lock unlock)") {
  sd::VdiLocks locks;
  CHECK(locks.lock(5, holder(7000, 1), false, 1) == sd::Res::Success);
  CHECK(locks.release(5, holder(7002, 9)) == sd::Res::Success);
  CHECK_FALSE(locks.get(5));
}

TEST_CASE("VdiLocks: an own-only release leaves someone else's lock alone") {
  sd::VdiLocks locks;
  auto a = holder(7000, 1), b = holder(7001, 1);
  CHECK(locks.lock(5, b, false, 1) == sd::Res::Success);
  CHECK(locks.release(5, a, true) == sd::Res::Success);
  REQUIRE(locks.get(5));
  CHECK(locks.get(5)->owner == b);
  CHECK(locks.release(5, b, true) == sd::Res::Success);
  CHECK_FALSE(locks.get(5));
}

TEST_CASE("VdiLocks: a shared request joins a writer; the writer becomes a participant") {
  sd::VdiLocks locks;
  auto a = holder(7000, 1), b = holder(7001, 1), c = holder(7002, 1);
  CHECK(locks.lock(5, a, false, 1) == sd::Res::Success);
  CHECK(locks.lock(5, b, true, 2) == sd::Res::Success);
  auto l = locks.get(5);
  REQUIRE(l);
  CHECK(l->state == sd::LockState::Shared);
  REQUIRE(l->participants.size() == 2);
  CHECK(l->participants[0].who == a);
  CHECK(l->participants[0].state == sd::ParticipantState::Modified);
  CHECK(l->participants[1].who == b);
  CHECK(l->participants[1].state == sd::ParticipantState::Shared);
  CHECK(locks.lock(5, c, false, 3) == sd::Res::VdiLocked);  // no normal lock beside them
  // A participant leaving keeps the others; the last one unlocks.
  CHECK(locks.release(5, a) == sd::Res::Success);
  REQUIRE(locks.get(5));
  CHECK(locks.get(5)->participants.size() == 1);
  CHECK(locks.release(5, b) == sd::Res::Success);
  CHECK_FALSE(locks.get(5));
}

TEST_CASE("VdiLocks: at most 31 participants") {
  sd::VdiLocks locks;
  for (uint64_t i = 0; i < sd::kMaxLockParticipants; i++)
    CHECK(locks.lock(5, holder(7000, i + 1), true, 1) == sd::Res::Success);
  CHECK(locks.lock(5, holder(7000, 99), true, 1) == sd::Res::VdiLocked);
}

TEST_CASE("VdiLocks: a closed connection and a departed node take their locks with them") {
  sd::VdiLocks locks;
  auto a1 = holder(7000, 1), a2 = holder(7000, 2), b = holder(7001, 1);
  CHECK(locks.lock(1, a1, false, 1) == sd::Res::Success);
  CHECK(locks.lock(2, a2, false, 1) == sd::Res::Success);
  CHECK(locks.lock(3, b, false, 1) == sd::Res::Success);
  CHECK(locks.lock(4, b, true, 1) == sd::Res::Success);
  CHECK(locks.lock(4, a2, true, 1) == sd::Res::Success);
  CHECK(locks.release_holder(a1) == std::vector<uint32_t>{1});
  CHECK_FALSE(locks.get(1));
  CHECK(locks.get(2));
  CHECK(locks.release_node(a2.nid) == std::vector<uint32_t>{2, 4});
  CHECK_FALSE(locks.get(2));
  REQUIRE(locks.get(4));
  CHECK(locks.get(4)->participants.size() == 1);  // b stays in the shared lock
  CHECK(locks.release_node(b.nid) == std::vector<uint32_t>{3, 4});
  CHECK(locks.all().empty());
}

TEST_CASE("VdiLocks: a snapshot moves the lock to the new working VDI") {
  sd::VdiLocks locks;
  auto a = holder(7000, 1);
  CHECK(locks.lock(5, a, false, 1) == sd::Res::Success);
  locks.move(5, 6);
  CHECK_FALSE(locks.get(5));
  REQUIRE(locks.get(6));
  CHECK(locks.get(6)->owner == a);
}

TEST_CASE("VdiLocks: a hold comes back with its token only while nobody else took or broke it") {
  sd::VdiLocks locks;
  auto a = holder(7000, 1), a2 = holder(7000, 2), b = holder(7001, 1);
  // Still counted on the lost connection: the token moves it to the new one.
  CHECK(locks.lock(5, a, false, 1, 111) == sd::Res::Success);
  CHECK(locks.lock(5, a2, false, 2, 111, true) == sd::Res::Success);
  CHECK(locks.get(5)->owner == a2);
  CHECK(locks.release_holder(a).empty());  // the old connection's close changes nothing
  CHECK(locks.may_write(5, a2));
  CHECK_FALSE(locks.may_write(5, a));
  // Ended with its connection: resumable, once, with the right token.
  CHECK(locks.release_holder(a2) == std::vector<uint32_t>{5});
  CHECK(locks.may_write(5, b));
  CHECK(locks.lock(5, a, false, 3, 999, true) == sd::Res::InodeInvalidated);
  CHECK(locks.lock(5, a, false, 3, 111, true) == sd::Res::Success);
  // Ended with its gateway, and another client took the VDI meanwhile.
  CHECK(locks.release_node(a.nid) == std::vector<uint32_t>{5});
  CHECK(locks.lock(5, b, false, 4, 222) == sd::Res::Success);
  CHECK(locks.release_holder(b) == std::vector<uint32_t>{5});
  CHECK(locks.lock(5, a, false, 5, 111, true) == sd::Res::InodeInvalidated);
  // Broken (someone else's release): the holders are named, never back.
  CHECK(locks.lock(5, b, false, 6, 222, true) == sd::Res::Success);
  std::vector<sd::LockHolder> broken;
  CHECK(locks.release(5, a, false, &broken) == sd::Res::Success);
  REQUIRE(broken.size() == 1);
  CHECK(broken[0] == b);
  CHECK(locks.lock(5, b, false, 7, 222, true) == sd::Res::InodeInvalidated);
  // Released by its own holder: not resumable either.
  CHECK(locks.lock(6, a, false, 8, 333) == sd::Res::Success);
  CHECK(locks.release(6, a, true) == sd::Res::Success);
  CHECK(locks.lock(6, a, false, 9, 333, true) == sd::Res::InodeInvalidated);
  // A deleted VDI forgets everything.
  CHECK(locks.lock(7, a, false, 10, 444) == sd::Res::Success);
  CHECK(locks.release_holder(a) == std::vector<uint32_t>{7});
  locks.forget(7);
  CHECK(locks.lock(7, a, false, 11, 444, true) == sd::Res::InodeInvalidated);
}

TEST_CASE("VdiLocks: after a full restart (an empty table) a hold comes back, unless taken first") {
  sd::VdiLocks locks;
  auto a = holder(7000, 1), b = holder(7001, 1);
  CHECK(locks.lock(5, a, false, 1, 111, true) == sd::Res::Success);  // nothing known: back
  CHECK(locks.get(5)->owner == a);
  CHECK(locks.lock(6, b, false, 2, 222) == sd::Res::Success);  // someone else took 6 first
  CHECK(locks.release_holder(b) == std::vector<uint32_t>{6});
  CHECK(locks.lock(6, a, false, 3, 333, true) == sd::Res::InodeInvalidated);
  // A deleted (forgotten) VDI stays known as touched: a new VDI that gets
  // its vid is not taken over by an old writer.
  locks.forget(6);
  CHECK(locks.lock(6, a, false, 4, 333, true) == sd::Res::InodeInvalidated);
}

TEST_CASE("VdiLocks: revoked tokens stay revoked across a full restart (kept on disk)") {
  sdtest::TempDir t;
  std::string file = t.path + "/revoked";
  auto a = holder(7000, 1), b = holder(7001, 1);
  {
    sd::VdiLocks locks;
    locks.keep_revoked_in(file);
    CHECK(locks.lock(5, a, false, 1, 111) == sd::Res::Success);
    CHECK(locks.release(5, b) == sd::Res::Success);  // broken
    CHECK(locks.lock(6, a, false, 2, 222) == sd::Res::Success);
    CHECK(locks.release(6, a, true) == sd::Res::Success);  // released by its holder
    CHECK(locks.lock(7, a, false, 3, 333) == sd::Res::Success);
    auto cleared = locks.clear();  // the cluster is formatted
    REQUIRE(cleared.size() == 1);
    CHECK(cleared[0] == a);
  }
  sd::VdiLocks after;  // every sheep stopped and started again
  after.keep_revoked_in(file);
  CHECK(after.revoked() == std::set<uint64_t>{111, 222, 333});
  CHECK(after.lock(5, a, false, 4, 111, true) == sd::Res::InodeInvalidated);
  CHECK(after.lock(6, a, false, 4, 222, true) == sd::Res::InodeInvalidated);
  CHECK(after.lock(7, a, false, 4, 333, true) == sd::Res::InodeInvalidated);
  CHECK(after.lock(8, a, false, 4, 444, true) == sd::Res::Success);  // never revoked
  // Tokens revoked elsewhere (a joining sheep's) join ours.
  after.merge_revoked({555});
  CHECK(after.lock(9, b, false, 5, 555, true) == sd::Res::InodeInvalidated);
}
