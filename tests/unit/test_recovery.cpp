// Recovery's choice of sources from the epoch history, and the ownership
// audit's verdict on copies kept through epochs a node did not own them in.
#include <doctest/doctest.h>

#include "daemon_rig.h"

using namespace sdtest;

namespace {

std::vector<char> object(const std::string& s) {
  std::vector<char> v(s.begin(), s.end());
  v.resize(4 << 20);
  return v;
}

std::string stored(DaemonRig& rig, uint64_t oid) {
  std::vector<char> got(16);
  if (!rig.store.read(oid, got.data(), 15, 0).ok()) return "<none>";
  return std::string(got.data());
}

}  // namespace

TEST_CASE("recovery takes the copy of the newest epoch whose owners have one") {
  DaemonRig rig;
  FakePeer a(1), b(2);
  // Epoch 1: us and a; epoch 2: a and b; epoch 3: us and b (current).
  rig.epoch(1, {a.node()}, true, false);
  rig.epoch(2, {a.node(), b.node()}, false, false);
  auto e3 = rig.epoch(3, {b.node()}, true, true);
  uint64_t oid = sd::vid_to_data_oid(1, 0);
  a.put_stale(oid, 1, object("old"));  // a kept it as current through epoch 1
  b.put_live(oid, object("new"));      // b owned it in epochs 2 and 3
  REQUIRE(rig.recovery.fetch(oid).ok());
  CHECK(stored(rig, oid) == "new");
}

TEST_CASE("a stale copy is not taken for an epoch after the one it was current at") {
  DaemonRig rig;
  FakePeer a(1), b(2);
  rig.epoch(1, {a.node(), b.node()}, false, false);
  rig.epoch(2, {a.node(), b.node()}, false, false);
  rig.epoch(3, {a.node(), b.node()}, true, true);
  uint64_t oid = sd::vid_to_data_oid(1, 1);
  // a's copy is current through epoch 1 only; b kept one through epoch 2.
  a.put_stale(oid, 1, object("epoch1"));
  b.put_stale(oid, 2, object("epoch2"));
  REQUIRE(rig.recovery.fetch(oid).ok());
  CHECK(stored(rig, oid) == "epoch2");
}

TEST_CASE("with nobody else holding it, our own stale copy from an epoch we owned it in comes back") {
  DaemonRig rig;
  FakePeer a(1);
  rig.epoch(1, {a.node()}, true, false);
  auto e2 = rig.epoch(2, {a.node()}, true, true);
  uint64_t oid = sd::vid_to_data_oid(1, 2);
  auto data = object("ours");
  REQUIRE(rig.store.create_and_write(oid, data.size(), data.data(), uint32_t(data.size()), 0).ok());
  REQUIRE(rig.store.move_to_stale(oid, 1).ok());
  REQUIRE(rig.recovery.fetch(oid).ok());
  CHECK(stored(rig, oid) == "ours");
  CHECK(!rig.store.newest_stale(oid));  // it left .stale
}

TEST_CASE("when no epoch's owners have a current copy, the newest stale copy anywhere is taken") {
  DaemonRig rig;
  FakePeer a(1), b(2), c(3);
  for (uint32_t e = 1; e <= 3; e++) rig.epoch(e, {a.node(), b.node(), c.node()}, true, e == 3);
  // Owned by us and a in every epoch; b and c keep stale copies they were
  // never owners of (a lost object, as far as the history tells).
  uint64_t oid = rig.find_oid(rig.members.membership()->nodes, [&](const std::vector<uint16_t>& o) {
    return has(o, 1) && has(o, a.node().nid.port);
  });
  b.put_stale(oid, 1, object("older"));
  c.put_stale(oid, 2, object("newer"));
  REQUIRE(rig.recovery.fetch(oid).ok());
  CHECK(stored(rig, oid) == "newer");
}

TEST_CASE("nobody has any copy: NoObj, and nothing is stored") {
  DaemonRig rig;
  FakePeer a(1);
  rig.epoch(1, {a.node()}, true, true);
  uint64_t oid = sd::vid_to_data_oid(1, 3);
  CHECK(rig.recovery.fetch(oid).code() == sd::Res::NoObj);
  CHECK(stored(rig, oid) == "<none>");
}

TEST_CASE("the audit retires a copy kept through an epoch this node did not own it in") {
  DaemonRig rig;
  FakePeer a(1), b(2);
  auto e1 = rig.epoch(1, {a.node(), b.node()}, true, false);
  // An oid we own in epochs 1 and 3 but not in 2 (a newcomer took it).
  FakePeer c(3);
  auto e2 = rig.epoch(2, {a.node(), b.node(), c.node()}, true, false);
  uint64_t oid = rig.owned_in_first_only(e1, e2);
  rig.epoch(3, {a.node(), b.node()}, true, true);  // c is gone: ours again
  auto data = object("v1");
  REQUIRE(rig.store.create_and_write(oid, data.size(), data.data(), uint32_t(data.size()), 0).ok());
  rig.audit.reset(1);  // every copy known current through epoch 1
  CHECK(!rig.audit.check(oid, *rig.members.membership()));
  CHECK(!rig.store.exists(oid));
  auto stale = rig.store.newest_stale(oid);
  REQUIRE(stale);
  CHECK(*stale == 1);  // current through epoch 1, the last one we owned it in
  // A copy owned throughout stays.
  uint64_t kept = rig.find_oid(rig.members.membership()->nodes, [&](const std::vector<uint16_t>& o) {
    return has(o, 1);
  });
  sd::VnodeRing r2(e2);
  if (r2.holds(kept, 2, r2.find(rig.self.nid))) {
    REQUIRE(rig.store.create_and_write(kept, data.size(), data.data(), uint32_t(data.size()), 0).ok());
    CHECK(rig.audit.check(kept, *rig.members.membership()));
    CHECK(rig.store.exists(kept));
  }
}
