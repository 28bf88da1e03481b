// The gateway: placement of copies, fallback between copies, and the retry
// under a new ring when an epoch changes.
#include <doctest/doctest.h>

#include <thread>

#include "daemon_rig.h"

using namespace sdtest;

namespace {

std::vector<char> bytes(const std::string& s, size_t n = 4096) {
  std::vector<char> v(s.begin(), s.end());
  v.resize(n);
  return v;
}

}  // namespace

TEST_CASE("a write reaches exactly the owners of the current ring, the local copy the store") {
  DaemonRig rig;
  FakePeer a(1), b(2), c(3);
  auto nodes = rig.epoch(1, {a.node(), b.node(), c.node()}, true, true);
  uint64_t oid = rig.find_oid(nodes, [&](const std::vector<uint16_t>& o) { return has(o, 1); });
  auto data = bytes("hello");
  REQUIRE(rig.gateway.create_and_write(oid, data.data(), 4096, 0).ok());
  std::vector<char> got(4096);
  REQUIRE(rig.store.read(oid, got.data(), 4096, 0).ok());
  CHECK(got == data);
  int remote_copies = 0;
  for (FakePeer* p : {&a, &b, &c}) {
    bool owner = p->has_live(oid);
    remote_copies += owner;
    for (const auto& s : p->log()) CHECK(s.epoch == 1);
  }
  CHECK(remote_copies == 1);  // copies 2: ours and one peer's
}

TEST_CASE("a read falls back to the other copy when one fails") {
  DaemonRig rig;
  FakePeer a(1), b(2);
  auto nodes = rig.epoch(1, {a.node(), b.node()}, true, true);
  // Both copies on the peers, none here.
  uint64_t oid = rig.find_oid(nodes, [&](const std::vector<uint16_t>& o) { return !has(o, 1); });
  a.put_live(oid, bytes("same"));
  b.put_live(oid, bytes("same"));
  // One copy keeps failing: the read comes from the other.
  a.fail_next(1000, sd::Res::Eio);
  std::vector<char> got(4096);
  for (int i = 0; i < 5; i++) {
    REQUIRE(rig.gateway.read(oid, got.data(), 4096, 0).ok());
    CHECK(std::string(got.data()) == "same");
  }
  // Both fail: so does the read, with what they said.
  b.fail_next(1000, sd::Res::Eio);
  CHECK(rig.gateway.read(oid, got.data(), 4096, 0).code() == sd::Res::Eio);
}

TEST_CASE("a peer that moved to a newer epoch: the write waits for the next ring and goes there") {
  DaemonRig rig;
  FakePeer a(1), b(2), c(3);
  auto e1 = rig.epoch(1, {a.node(), b.node()}, true, true);
  uint64_t oid = rig.find_oid(e1, [&](const std::vector<uint16_t>& o) {
    return has(o, a.node().nid.port) && has(o, 1);
  });
  a.fail_next(1, sd::Res::OldNodeVer);
  std::thread epoch_change([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    rig.epoch(2, {a.node(), b.node(), c.node()}, true, true);
  });
  auto data = bytes("v2");
  sd::Status st = rig.gateway.create_and_write(oid, data.data(), 4096, 0);
  epoch_change.join();
  REQUIRE(st.ok());
  // The copy that counts was written under epoch 2, to epoch 2's owners.
  auto m = rig.members.membership();
  sd::Placement p = m->ring.place(oid, 2);
  for (int i = 0; i < p.count; i++) {
    const sd::SdNode& n = m->nodes[p.node[i]];
    if (n.nid.port == 1) continue;
    FakePeer* owner = n.nid.port == a.node().nid.port ? &a : n.nid.port == b.node().nid.port ? &b : &c;
    CHECK(owner->has_live(oid));
    auto log = owner->log();
    REQUIRE(!log.empty());
    CHECK(log.back().epoch == 2);
  }
}

TEST_CASE("a write to a ring with no data node is refused as halted") {
  DaemonRig rig;
  sd::SdNode gw = rig.self;
  gw.nr_vnodes = 0;
  rig.members.publish(1, {gw}, gw);
  auto data = bytes("x");
  CHECK(rig.gateway.create_and_write(sd::vid_to_data_oid(1, 0), data.data(), 4096, 0).code() ==
        sd::Res::Halt);
}
