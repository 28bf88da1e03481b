// Group: epochs made by joins, leaves and format, the waiting state of a
// restarted cluster, and newcomers that may not stay. The cluster driver is
// played by the test: it decides the order of events as MembershipProtocol
// would (the master's check_join, then on_join on every member).
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "group_rig.h"

using namespace sdtest;

TEST_CASE("format is epoch 1 of the members; every join and leave while running is one more") {
  TempDir t;
  GroupCluster c;
  GroupNode a(t.path + "/a", 7000), b(t.path + "/b", 7001), d(t.path + "/d", 7002);
  c.join(a);
  c.join(b);
  CHECK(a.group->status() == sd::ClusterStatus::Wait);
  CHECK(!a.group->formatted());
  CHECK(a.epoch() == 0);
  REQUIRE(a.group->make_fs(format_settings(42)) == sd::Res::Success);
  CHECK(a.group->status() == sd::ClusterStatus::Ok);
  CHECK(b.group->status() == sd::ClusterStatus::Ok);
  CHECK(a.history() == "1[7000 7001] ");
  c.join(d);
  CHECK(d.group->status() == sd::ClusterStatus::Ok);
  c.leave(b);
  for (GroupNode* n : {&a, &d}) {
    CHECK(n->epoch() == 3);
    CHECK(n->history() == "3[7000 7002] 2[7000 7001 7002] 1[7000 7001] ");
  }
  CHECK(a.listener.epochs == std::vector<uint32_t>{2, 3});
  CHECK(d.listener.resets == std::vector<uint32_t>{1});  // the newcomer's store starts clean
}

TEST_CASE("a restarted cluster waits for every member of its last epoch, then runs at that epoch") {
  TempDir t;
  {
    GroupCluster c;
    GroupNode a(t.path + "/a", 7000), b(t.path + "/b", 7001);
    c.join(a);
    c.join(b);
    REQUIRE(a.group->make_fs(format_settings(42)) == sd::Res::Success);
  }
  GroupCluster c;
  GroupNode a(t.path + "/a", 7000);
  c.join(a);
  CHECK(a.group->status() == sd::ClusterStatus::Wait);
  CHECK(a.group->formatted());
  GroupNode b(t.path + "/b", 7001);
  c.join(b);
  CHECK(a.group->status() == sd::ClusterStatus::Ok);
  CHECK(b.group->status() == sd::ClusterStatus::Ok);
  CHECK(a.history() == "1[7000 7001] ");  // the same members: no new epoch
  CHECK(a.listener.epochs == std::vector<uint32_t>{1});  // recovery resumes at epoch 1
}

TEST_CASE("a restarted node with a newer epoch brings it to a waiting master") {
  TempDir t;
  {
    GroupCluster c;
    GroupNode a(t.path + "/a", 7000), b(t.path + "/b", 7001);
    c.join(a);
    c.join(b);
    REQUIRE(a.group->make_fs(format_settings(42)) == sd::Res::Success);
    c.leave(a);  // b alone records epoch 2
    CHECK(b.history() == "2[7001] 1[7000 7001] ");
  }
  GroupCluster c;
  GroupNode a(t.path + "/a", 7000);  // its last epoch is 1
  c.join(a);
  GroupNode b(t.path + "/b", 7001);
  c.join(b);
  // Epoch 2's only member is back: running, one new epoch with both.
  CHECK(a.group->status() == sd::ClusterStatus::Ok);
  CHECK(a.epoch() == 3);
  CHECK(b.history() == "3[7000 7001] 2[7001] 1[7000 7001] ");
}

TEST_CASE("a node of another cluster is admitted, told to go, and leaves; its own cluster is kept") {
  TempDir t;
  GroupCluster other;
  GroupNode x(t.path + "/x", 7001);
  other.join(x);
  REQUIRE(x.group->make_fs(format_settings(7)) == sd::Res::Success);
  GroupCluster c;
  GroupNode a(t.path + "/a", 7000);
  c.join(a);
  REQUIRE(a.group->make_fs(format_settings(42)) == sd::Res::Success);
  c.join(x);
  CHECK(x.listener.stops == 1);
  CHECK(x.group->settings().ctime == 7);
  CHECK(x.history() == "1[7001] ");
  CHECK(a.history() == "2[7000 7001] 1[7000] ");
  c.leave(x);
  CHECK(a.history() == "3[7000] 2[7000 7001] 1[7000] ");
}

TEST_CASE("fresh nodes waiting for a format adopt the cluster a formatted node brings") {
  TempDir t;
  {
    GroupCluster c;
    GroupNode a(t.path + "/a", 7000);
    c.join(a);
    REQUIRE(a.group->make_fs(format_settings(42)) == sd::Res::Success);
  }
  GroupCluster c;
  GroupNode f(t.path + "/f", 7005);
  c.join(f);
  CHECK(!f.group->formatted());
  GroupNode a(t.path + "/a", 7000);
  c.join(a);
  CHECK(f.group->settings().ctime == 42);
  CHECK(f.group->status() == sd::ClusterStatus::Ok);
  CHECK(f.history() == "2[7000 7005] 1[7000] ");
  CHECK(a.history() == "2[7000 7005] 1[7000] ");
}

sd::Group::LockRequest exclusive(uint64_t token = 1) {
  sd::Group::LockRequest q;
  q.token = token;
  return q;
}

// A working VDI vid (and, when old is given, old becomes its snapshot).
void add_vdi(GroupNode& n, uint32_t vid, uint32_t old = 0) {
  sd::VdiAddedMsg m{vid, old, old, 2, 0, 22, 0};
  REQUIRE(n.group->vdi_added(m) == sd::Res::Success);
}

TEST_CASE_FIXTURE(FormattedWithNewcomer,
                  "VDI locks: every member agrees, a newcomer receives them, a leaving "
                  "gateway's end") {
  for (uint32_t vid : {5, 6, 7}) add_vdi(a, vid);
  sd::LockHolder via_b{b.self.nid, 101};
  sd::LockHolder via_a{a.self.nid, 7};
  CHECK(b.group->lock_vdi(5, via_b, exclusive()) == sd::Res::Success);
  CHECK(a.group->lock_vdi(5, via_a, exclusive()) == sd::Res::VdiLocked);
  REQUIRE(a.locks.get(5));
  CHECK(a.locks.get(5)->owner == via_b);
  c.join(d);
  REQUIRE(d.locks.get(5));  // from the master's join reply
  CHECK(d.locks.get(5)->owner == via_b);
  // A holder whose sheep is not a member cannot take a lock.
  sd::LockHolder ghost{d.self.nid, 1};
  ghost.nid.port = 7999;
  CHECK(a.group->lock_vdi(6, ghost, exclusive()) == sd::Res::VdiLocked);
  // The connection closes: released everywhere.
  CHECK(b.group->lock_vdi(7, via_b, exclusive()) == sd::Res::Success);
  CHECK(b.group->release_locks(via_b) == sd::Res::Success);
  for (GroupNode* n : {&a, &b, &d}) CHECK(n->locks.all().empty());
  // The gateway leaves: released on every other node.
  CHECK(b.group->lock_vdi(5, via_b, exclusive()) == sd::Res::Success);
  c.leave(b);
  CHECK_FALSE(a.locks.get(5));
  CHECK_FALSE(d.locks.get(5));
}

TEST_CASE_FIXTURE(FormattedPair,
                  "VDI locks in the cluster's order: snapshots, deletes, breaks and resumes") {
  add_vdi(a, 5);
  add_vdi(a, 6, 5);  // 5 is now a snapshot, 6 its working VDI
  sd::LockHolder w{b.self.nid, 11}, w2{b.self.nid, 12}, other{a.self.nid, 3};
  // A name looked up as the working VDI just before a snapshot: the lock
  // is not put on the frozen VDI; the gateway looks the name up again.
  sd::Group::LockRequest q = exclusive(77);
  q.expect_working = true;
  CHECK(b.group->lock_vdi(5, w, q) == sd::Res::Again);
  CHECK_FALSE(a.locks.get(5));
  CHECK(b.group->lock_vdi(6, w, q) == sd::Res::Success);
  // A locked VDI is not deleted; nor is a deleted one locked.
  CHECK(a.group->vdi_deleted(6) == sd::Res::VdiLocked);
  CHECK_FALSE(a.vdis.get(6)->deleted);
  // The connection is lost: the same client takes the lock up again with
  // its token, a stranger's token does nothing.
  CHECK(b.group->release_locks(w) == sd::Res::Success);
  sd::Group::LockRequest wrong = exclusive(78);
  wrong.resume = true;
  CHECK(b.group->lock_vdi(6, w2, wrong) == sd::Res::InodeInvalidated);
  sd::Group::LockRequest again = exclusive(77);
  again.resume = true;
  CHECK(b.group->lock_vdi(6, w2, again) == sd::Res::Success);
  CHECK(a.locks.get(6)->owner == w2);
  // Broken by someone else: its connection is closed on its gateway (b),
  // and it can never come back.
  CHECK(a.group->release_vdi(6, other, false) == sd::Res::Success);
  CHECK(b.listener.lost_conns == std::vector<uint64_t>{12});
  CHECK(a.listener.lost_conns.empty());
  CHECK(b.group->lock_vdi(6, w2, again) == sd::Res::InodeInvalidated);
  // Now it may be deleted, and a deleted VDI takes no lock.
  CHECK(a.group->vdi_deleted(6) == sd::Res::Success);
  CHECK(b.group->lock_vdi(6, w, exclusive(5)) == sd::Res::NoVdi);
  // A VDI created since a hold ended is no place to take that hold up
  // again, even with nothing else known about it.
  add_vdi(a, 7);
  sd::Group::LockRequest stranger = exclusive(4242);
  stranger.resume = true;
  CHECK(b.group->lock_vdi(7, w, stranger) == sd::Res::InodeInvalidated);
  // A format ends every lock and fences the connections that held them.
  CHECK(b.group->lock_vdi(7, w, exclusive(6)) == sd::Res::Success);
  b.listener.lost_conns.clear();
  REQUIRE(a.group->make_fs(format_settings(43)) == sd::Res::Success);
  CHECK(b.listener.lost_conns == std::vector<uint64_t>{11});
  CHECK(a.locks.all().empty());
}

TEST_CASE("a VDI family is listed once each even when parents loop (inodes read from disk)") {
  sd::VdiTable t;
  sd::VdiInfo a, b, c;
  a.copies = b.copies = c.copies = 1;
  a.parent = 0x20;  // 0x10 <-> 0x20, and 0x30 under 0x20
  b.parent = 0x10;
  c.parent = 0x20;
  t.add(0x10, a, true);
  t.add(0x20, b, true);
  t.add(0x30, c, true);
  auto fam = t.family(0x30);
  std::sort(fam.begin(), fam.end());
  CHECK(fam == std::vector<uint32_t>{0x10, 0x20, 0x30});
}
