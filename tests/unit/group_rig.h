// GroupRig: real sd::Group instances driven through a cluster driver that
// the test plays. GroupNode is one sheep's group parts (store, config,
// epoch log, VDI table and locks, rings, a recording listener) on its own
// directory, kept across "restarts"; GroupCluster decides the order of
// events as MembershipProtocol would (the master's check_join, then on_join
// on every member; on_leave on those that stay), and FakeDriver delivers
// every broadcast to each member in call order. format_settings is what a
// plain format of two copies asks for. FormattedPair (two formatted
// members) and FormattedWithNewcomer (and a third sheep yet to join) are
// fixtures for TEST_CASE_FIXTURE.
//
// Unit tests only.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "fake_peers.h"
#include "group/group.h"
#include "peers/peer_pool.h"
#include "store/object_store.h"
#include "store/read_lease.h"

namespace sdtest {

struct GroupCluster;

// Broadcasts go to every member of the test's cluster, in call order.
struct FakeDriver : sd::ClusterDriver {
  GroupCluster* cluster = nullptr;
  sd::SdNode self{};
  const char* name() const override { return "fake"; }
  sd::Status join(const sd::SdNode& s, sd::ClusterEvents*) override {
    self = s;
    return {};
  }
  sd::Status broadcast(const std::vector<char>& msg) override;
  void leave() override {}
};

// Records what the group tells its sheep.
struct RecordingListener : sd::GroupListener {
  std::vector<uint32_t> epochs;
  std::vector<uint32_t> resets;
  std::vector<uint64_t> lost_conns;
  int stops = 0;
  void on_locks_lost(const std::vector<uint64_t>& conns) override {
    lost_conns.insert(lost_conns.end(), conns.begin(), conns.end());
  }
  void on_epoch(uint32_t e) override { epochs.push_back(e); }
  void on_all_recovered(uint32_t) override {}
  void on_store_reset(uint32_t e) override { resets.push_back(e); }
  void on_peer_left(const sd::NodeId&) override {}
  void on_stop() override { stops++; }
};

// One sheep's group, on its own directory (kept across "restarts").
struct GroupNode {
  std::string dir;
  sd::SdNode self;
  sd::ObjectStore store;
  sd::ConfigFile config;
  sd::EpochLog epochs;
  sd::VdiTable vdis;
  sd::VdiLocks locks;
  sd::PeerPool peers;
  sd::ReadLease lease;
  RecordingListener listener;
  FakeMembership dummy;  // the rings read the group's membership; unused here
  std::unique_ptr<sd::EpochRings> rings;
  std::unique_ptr<sd::Group> group;
  FakeDriver driver;
  GroupNode(const std::string& d, uint16_t port, const sd::GroupOptions& opts = {})
      : dir(d),
        self(node_at(port, port)),
        store(d, {}, true),
        config(d + "/config"),
        epochs(d + "/epoch") {
    sd::make_dirs(d + "/epoch");
    REQUIRE(store.init().ok());
    rings = std::make_unique<sd::EpochRings>(epochs, peers, dummy);
    group = std::make_unique<sd::Group>(opts, self, store, config, epochs, *rings, vdis, locks,
                                        lease, listener);
    REQUIRE(group->start(&driver).ok());
  }
  uint32_t epoch() const { return group->membership()->epoch; }
  bool complete(uint32_t e) const { return group->recovered_completely(e); }
  // The epoch log, newest first: "2[7000 7001] 1[7000] " (members by port).
  std::string history() const {
    std::string s;
    for (uint32_t e = epochs.latest(); e >= 1; e--) {
      auto r = epochs.load(e);
      s += std::to_string(e) + "[";
      if (r.ok())
        for (size_t i = 0; i < r->nodes.size(); i++)
          s += (i ? " " : "") + std::to_string(r->nodes[i].nid.port);
      s += "] ";
    }
    return s;
  }
};

struct GroupCluster {
  std::vector<GroupNode*> members;
  std::vector<sd::SdNode> nodes() const {
    std::vector<sd::SdNode> out;
    for (auto* n : members) out.push_back(n->self);
    return out;
  }
  void join(GroupNode& n) {
    n.driver.cluster = this;
    if (members.empty()) {
      members.push_back(&n);
      n.group->on_join(nodes(), n.self, {});
      return;
    }
    std::vector<char> reply;
    std::string why;
    REQUIRE(members.front()->group->check_join(n.self, n.group->join_info(), &reply, &why));
    members.push_back(&n);
    auto now = nodes();
    for (auto* m : std::vector<GroupNode*>(members)) m->group->on_join(now, n.self, reply);
  }
  void leave(GroupNode& n) {
    members.erase(std::find(members.begin(), members.end(), &n));
    auto now = nodes();
    for (auto* m : members) m->group->on_leave(now, n.self);
  }
  // What every member says of recovered_completely(e).
  std::vector<bool> complete(uint32_t e) const {
    std::vector<bool> out;
    for (auto* m : members) out.push_back(m->complete(e));
    return out;
  }
  std::vector<bool> all(bool v) const { return std::vector<bool>(members.size(), v); }
};

inline sd::Status FakeDriver::broadcast(const std::vector<char>& msg) {
  for (auto* m : std::vector<GroupNode*>(cluster->members)) m->group->on_message(self, msg);
  return {};
}

inline sd::ClusterSettings format_settings(uint64_t ctime) {
  sd::ClusterSettings s;
  s.ctime = ctime;
  s.copies = 2;
  s.flags = sd::kClusterAutoVnodes;
  std::strcpy(s.store, "plain");
  return s;
}

// Sheep a and b (ports 7000, 7001) on a temporary directory, formatted
// (ctime 42) at epoch 1.
struct FormattedPair {
  TempDir t;
  GroupCluster c;
  GroupNode a{t.path + "/a", 7000}, b{t.path + "/b", 7001};
  FormattedPair() {
    c.join(a);
    c.join(b);
    REQUIRE(a.group->make_fs(format_settings(42)) == sd::Res::Success);
  }
};

// The same, and sheep d (port 7002), made but not yet a member.
struct FormattedWithNewcomer : FormattedPair {
  GroupNode d{t.path + "/d", 7002};
};

}  // namespace sdtest
