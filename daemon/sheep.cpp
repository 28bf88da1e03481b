// Building and wiring the daemon's parts.
#include "sheep.h"

#include <algorithm>
#include <cinttypes>
#include <set>

#include "base/log.h"
#include "oid.h"

namespace sd {

Sheep::Sheep(const SheepOptions& o)
    : opts(o),
      store(o.dir, o.disks, o.nosync),
      config(o.dir + "/config"),
      epochs(o.dir + "/epoch"),
      rings(epochs, peers, group),
      group(GroupOptions{o.gateway, o.vnodes}, self, store, config, epochs, rings, vdis, locks,
            lease, *this),
      policy(vdis, group),
      audit(store, rings, group, policy, o.dir + "/obj/.audited"),
      replica(store, audit, group, policy),
      recovery(store, peers, rings, audit, replica, group, policy),
      epoch_recovery(store, peers, rings, audit, recovery, group, *this, policy),
      scrubber(store, peers, group, policy, audit, recovery, replica),
      gateway(group, policy, peers, replica, recovery),
      vdi_ops(gateway, vdis, locks, group, admin_peers) {
  audit.set_listener(this);
}

void Sheep::rebuild_vdi_table() {
  vdis.clear();
  size_t n = 0;
  // Live inodes, and those only in .stale (recovery will bring them back).
  std::set<uint64_t> inodes;
  for (uint64_t oid : store.list())
    if (is_vdi_obj(oid)) inodes.insert(oid);
  for (const auto& s : store.stale_list())
    if (is_vdi_obj(s.oid)) inodes.insert(s.oid);
  for (uint64_t oid : inodes) {
    InodeHeader h;
    Status st = store.read(oid, &h, kInodeLookupBytes, 0);
    if (st.code() == Res::NoObj)
      if (auto e = store.newest_stale(oid)) st = store.read_stale(oid, *e, &h, kInodeLookupBytes, 0);
    if (!st.ok()) {
      sd_err("cannot read inode %016" PRIx64, oid);
      continue;
    }
    vdis.add(oid_to_vid(oid), vdi_info_of(h), true);
    n++;
  }
  if (n) sd_info("found %zu VDIs in the local store", n);
}

RecoveryState Sheep::recovery_state() const {
  RecoveryState st = epoch_recovery.state();
  if (!st.in_recovery && !store.settled()) {
    // Objects moving between this node's disks count as recovery, as
    // upstream's md recovery does (scripts wait for it to end).
    auto p = store.move_progress();
    st.in_recovery = 1;
    st.nr_finished = p.done;
    st.nr_total = std::max(p.total, p.done);
  }
  return st;
}

void Sheep::request_stop() {
  if (server) server->request_stop();
}

void Sheep::leave_for_failed_store(const std::string& why) {
  sd_err("%s: leaving sheepdog cluster", why.c_str());
  group.set_killed();
  leaver = std::thread([this] {
    log::set_thread_name("leave");
    group.stop();
    request_stop();
  });
}

}  // namespace sd
