// Sheep: the daemon's parts, built and wired together; one per process.
//
// This is assembly only: each part gets the collaborators it uses through
// its constructor, and the notifications that go up the layers (group →
// recovery, the audit → the read lease) arrive here and are passed on.
// Only main.cpp, the assembly (this file, the metrics page) and the request
// handlers (ops/, the layer above this one) see Sheep.
//
// Request path: server/server.cpp (bytes in) → ops/ops.cpp (opcode
// table) → gateway/gateway.cpp (which nodes) → store/plain_store.cpp (bytes
// on disk); VDI operations in vdi/; membership and epochs in group/;
// recovery in recovery/. Every request answered is counted in `metrics`
// (metrics/), which STAT and the --metrics page (metrics_page.h) read.
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "cluster/driver.h"
#include "gateway/gateway.h"
#include "group/config_file.h"
#include "group/epoch_log.h"
#include "group/epoch_rings.h"
#include "group/group.h"
#include "group/object_policy.h"
#include "group/vdi_table.h"
#include "metrics/request_metrics.h"
#include "options.h"
#include "peers/peer_pool.h"
#include "recovery/epoch_recovery.h"
#include "recovery/local_replica.h"
#include "recovery/object_recovery.h"
#include "recovery/ownership_audit.h"
#include "recovery/scrubber.h"
#include "server/fenced_connections.h"
#include "server/server.h"
#include "store/object_store.h"
#include "store/read_lease.h"
#include "vdi/vdi_ops.h"

namespace sd {

struct Sheep : GroupListener, RecoveryCluster, AuditListener, DiskListener {
  explicit Sheep(const SheepOptions& o);

  SheepOptions opts;
  SdNode self{};
  metrics::RequestMetrics metrics;  // request counters: STAT and the metrics page
  ReadLease lease;  // local reads by clients on this machine
  ObjectStore store;  // this node's disks
  ConfigFile config;
  EpochLog epochs;
  VdiTable vdis;
  VdiLocks locks;  // the cluster's VDI locks, kept by group
  PeerPool peers{std::chrono::seconds(30)};  // object I/O and recovery between sheep
  PeerPool admin_peers;  // forwarding to the master: VDI operations may run long
  EpochRings rings;      // the ring of every epoch of the history
  Group group;
  ObjectPolicy policy;            // copies and sizes of objects
  OwnershipAudit audit;           // which live copies may be served
  LocalReplica replica;           // this node's copy of each object
  ObjectRecovery recovery;        // single objects, on demand
  EpochRecovery epoch_recovery;   // everything, after each epoch change
  Scrubber scrubber;              // copies gone bad on disk, found and repaired
  Gateway gateway;
  VdiOps vdi_ops;
  std::unique_ptr<ClusterDriver> driver;
  Server* server = nullptr;
  FencedConnections fenced;  // connections whose VDI lock was broken
  std::thread leaver;  // runs leave_for_failed_store's leave; joined by main

  // Rebuilds the VDI table from the inode objects in the local store.
  void rebuild_vdi_table();
  // The recovery this node is in, as STAT_RECOVERY reports it: the epoch
  // recovery, or else objects moving between its disks.
  RecoveryState recovery_state() const;
  // Asks the event loop to stop (shutdown, kill, SIGTERM).
  void request_stop();
  // The object store failed: leave the cluster at once (the others move on
  // to an epoch without us), then stop.
  void leave_for_failed_store(const std::string& why);

  // GroupListener.
  void on_epoch(uint32_t epoch) override { epoch_recovery.epoch_changed(epoch); }
  void on_copies_changed(uint32_t vid) override { epoch_recovery.copies_changed(vid); }
  void on_all_recovered(uint32_t epoch) override { epoch_recovery.all_recovered(epoch); }
  void on_store_reset(uint32_t epoch) override {
    audit.reset(epoch);
    epoch_recovery.store_reset(epoch);
  }
  void on_peer_left(const NodeId& nid) override {
    peers.forget(nid);
    admin_peers.forget(nid);
  }
  void on_stop() override { request_stop(); }
  void on_locks_lost(const std::vector<uint64_t>& conns) override {
    fenced.add(conns);
    if (server) server->close_connections(conns);
  }
  // RecoveryCluster.
  bool running() const override { return group.running(); }
  bool recovery_disabled() const override { return group.settings().disable_recovery; }
  Res report_recovered(uint32_t epoch, bool complete) override {
    return group.recovery_done(epoch, complete);
  }
  bool recovered_completely(uint32_t epoch) const override {
    return group.recovered_completely(epoch);
  }
  // DiskListener.
  void on_objects_lost() override { epoch_recovery.recheck(); }
  void on_all_disks_failed(const std::string& why) override { leave_for_failed_store(why); }
  void on_disk_plugged() override { lease.stop_offering(); }
  void on_object_corrupt(uint64_t oid) override { scrubber.object_corrupt(oid); }
  // AuditListener: local reads may resume for this epoch.
  void on_audited(uint32_t epoch) override { lease.set_audited(epoch); }
};

}  // namespace sd
