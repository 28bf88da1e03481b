// LocalReplica: this node's copy of an object, the one path the gateway,
// the peer handlers, recovery and repair share (recovery/local_replica.h).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "daemon_rig.h"

using namespace sdtest;

namespace {

constexpr uint32_t kObject = 4 << 20;

std::string read_back(DaemonRig& rig, uint64_t oid, uint64_t offset = 0) {
  char got[8] = {};
  sd::Status st = rig.replica.read(oid, got, 4, offset);
  if (!st.ok()) return std::string("<") + sd::strerror(st.code()) + ">";
  return std::string(got);
}

}  // namespace

TEST_CASE("local replica: a copy put in place whole reads back, zeros around the bytes given") {
  DaemonRig rig;
  FakePeer a(1);
  rig.epoch(1, {a.node()}, true, true);
  rig.audit.reset(1);
  uint64_t oid = sd::vid_to_data_oid(1, 7);
  CHECK(read_back(rig, oid) == "<No object found>");
  REQUIRE(rig.replica.create(oid, 1, "abcd", 4, 4096).ok());
  CHECK(read_back(rig, oid, 4096) == "abcd");
  CHECK(read_back(rig, oid, 0) == "");  // zeros
  REQUIRE(rig.replica.write(oid, "wxyz", 4, kObject - 4).ok());
  CHECK(read_back(rig, oid, kObject - 4) == "wxyz");
}

TEST_CASE("local replica: a copy the audit does not vouch for is neither read nor written") {
  DaemonRig rig;
  FakePeer a(1), b(2), c(3);
  auto e1 = rig.epoch(1, {a.node(), b.node()}, true, false);
  auto e2 = rig.epoch(2, {a.node(), b.node(), c.node()}, true, false);
  uint64_t oid = rig.owned_in_first_only(e1, e2);
  rig.epoch(3, {a.node(), b.node()}, true, true);  // ours again, after missing epoch 2
  std::vector<char> data(kObject, 'v');
  REQUIRE(rig.store.create_and_write(oid, kObject, data.data(), kObject, 0).ok());
  rig.audit.reset(1);
  CHECK(rig.replica.write(oid, "new!", 4, 0).code() == sd::Res::NoObj);
  CHECK(read_back(rig, oid) == "<No object found>");
  CHECK(!rig.store.exists(oid));  // retired to .stale, as the audit does
  REQUIRE(rig.store.newest_stale(oid));
  // Put in place whole at the current epoch, it is current again.
  REQUIRE(rig.replica.create(oid, 3, "good", 4, 0).ok());
  CHECK(read_back(rig, oid) == "good");
}

TEST_CASE("local replica: remove takes the stale copies with the live one") {
  DaemonRig rig;
  FakePeer a(1);
  rig.epoch(1, {a.node()}, true, true);
  rig.audit.reset(1);
  uint64_t oid = sd::vid_to_data_oid(1, 9);
  CHECK(rig.replica.remove(oid).code() == sd::Res::NoObj);
  REQUIRE(rig.replica.create(oid, 1, "old!", 4, 0).ok());
  REQUIRE(rig.store.move_to_stale(oid, 1).ok());  // a stale copy of epoch 1
  REQUIRE(rig.replica.create(oid, 1, "live", 4, 0).ok());
  REQUIRE(rig.store.newest_stale(oid));
  CHECK(rig.replica.remove(oid).ok());
  CHECK(!rig.store.exists(oid));
  CHECK(!rig.store.newest_stale(oid));
  // Only a stale copy left: NoObj for the live one, and the stale one goes.
  REQUIRE(rig.replica.create(oid, 1, "old!", 4, 0).ok());
  REQUIRE(rig.store.move_to_stale(oid, 1).ok());
  CHECK(rig.replica.remove(oid).code() == sd::Res::NoObj);
  CHECK(!rig.store.newest_stale(oid));
}

TEST_CASE("local replica: a copy put in place while a newer epoch's audit ran is set aside if no longer ours") {
  // The create of epoch 1 is slow; meanwhile epoch 2 (where this node owns
  // the object no more) is published and its audit runs, before the file
  // is in place. The copy must not stay live on a node that is no owner.
  DaemonRig rig;
  FakePeer a(1), b(2), c(3);
  auto e1 = rig.epoch(1, {a.node()}, true, true);
  rig.audit.reset(1);
  auto e2_nodes = rig.epoch(2, {a.node(), b.node(), c.node()}, true, false);
  uint64_t oid = rig.owned_in_first_only(e1, e2_nodes);
  std::vector<char> data(kObject, 'c');
  sd::Status st = rig.audit.write_whole(oid, 1, [&] {
    rig.epoch(2, {a.node(), b.node(), c.node()}, true, true);
    REQUIRE(rig.audit.audit(*rig.members.membership(), [] { return false; }));
    CHECK(rig.audit.audited() == 2);
    return rig.store.create_and_write(oid, kObject, data.data(), kObject, 0);
  });
  REQUIRE(st.ok());
  CHECK(!rig.store.exists(oid));
  auto stale = rig.store.newest_stale(oid);
  REQUIRE(stale);
  CHECK(*stale == 1);
}
