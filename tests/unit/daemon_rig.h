// DaemonRig: one sheep's object parts (store, policy, audit, local
// replica, recovery, gateway) built on a temporary directory, with a fake membership whose
// other members are FakePeers. Unit tests only.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "fake_peers.h"
#include "gateway/gateway.h"
#include "group/epoch_log.h"
#include "group/epoch_rings.h"
#include "group/object_policy.h"
#include "group/vdi_table.h"
#include "oid.h"
#include "peers/peer_pool.h"
#include "recovery/local_replica.h"
#include "recovery/object_recovery.h"
#include "recovery/ownership_audit.h"
#include "ring.h"
#include "store/object_store.h"

namespace sdtest {

struct FixedSettings : sd::SettingsSource {
  sd::ClusterSettings s;
  FixedSettings() {
    s.ctime = 1;
    s.copies = 2;
  }
  sd::ClusterSettings settings() const override { return s; }
};

struct DaemonRig {
  TempDir dir;
  sd::SdNode self = node_at(1, 100);  // never contacted: it is us
  FakeMembership members;
  sd::VdiTable vdis;
  FixedSettings settings;
  sd::ObjectPolicy policy{vdis, settings};
  sd::PeerPool peers{std::chrono::seconds(5)};
  sd::ObjectStore store{dir.path, {}, true};
  sd::EpochLog epochs{dir.path + "/epoch"};
  sd::EpochRings rings{epochs, peers, members};
  sd::OwnershipAudit audit{store, rings, members, policy, dir.path + "/obj/.audited"};
  sd::LocalReplica replica{store, audit, members, policy};
  sd::ObjectRecovery recovery{store, peers, rings, audit, replica, members, policy};
  sd::Gateway gateway{members, policy, peers, replica, recovery};

  DaemonRig() {
    sd::make_dirs(dir.path + "/epoch");
    REQUIRE(store.init().ok());
  }
  // Records epoch `e` of `nodes` (with self when `with_self`) in the
  // history, and publishes it when it is the current one.
  std::vector<sd::SdNode> epoch(uint32_t e, std::vector<sd::SdNode> nodes, bool with_self,
                                bool current) {
    if (with_self) nodes.push_back(self);
    sd::sort_nodes(nodes);
    REQUIRE(epochs.save(sd::EpochRecord{e, 0, nodes}).ok());
    if (current) members.publish(e, nodes, self);
    return nodes;
  }
  // A data oid of vid 1 (copies 2) that this node owns under the first
  // node list and not under the second.
  uint64_t owned_in_first_only(const std::vector<sd::SdNode>& first,
                               const std::vector<sd::SdNode>& second) {
    sd::VnodeRing r1(first), r2(second);
    for (uint32_t idx = 0; idx < 100000; idx++) {
      uint64_t o = sd::vid_to_data_oid(1, idx);
      if (r1.holds(o, 2, r1.find(self.nid)) && !r2.holds(o, 2, r2.find(self.nid))) return o;
    }
    FAIL("no oid owned under the first list only");
    return 0;
  }
  // A data oid of vid 1 whose owners under `nodes` (copies 2) satisfy pred.
  template <class Pred>
  uint64_t find_oid(const std::vector<sd::SdNode>& nodes, Pred pred) {
    std::vector<sd::SdNode> sorted = nodes;
    sd::sort_nodes(sorted);
    sd::VnodeRing ring(sorted);
    for (uint32_t idx = 0; idx < 100000; idx++) {
      uint64_t oid = sd::vid_to_data_oid(1, idx);
      sd::Placement p = ring.place(oid, 2);
      std::vector<uint16_t> ports;
      for (int i = 0; i < p.count; i++) ports.push_back(sorted[p.node[i]].nid.port);
      if (pred(ports)) return oid;
    }
    FAIL("no oid with the wanted owners");
    return 0;
  }
};

inline bool has(const std::vector<uint16_t>& v, uint16_t x) {
  for (auto p : v)
    if (p == x) return true;
  return false;
}

}  // namespace sdtest
