// Sheep: the daemon's parts wired together, one instance per process.
//
// Request path: server.cpp (bytes in) → ops.cpp (opcode table) →
// gateway.cpp (which nodes) → store/plain_store.cpp (bytes on disk);
// VDI operations in vdi_ops.cpp; membership and epochs in group.cpp.
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "cluster/driver.h"
#include "config_file.h"
#include "epoch_log.h"
#include "epoch_rings.h"
#include "gateway.h"
#include "group.h"
#include "epoch_recovery.h"
#include "object_recovery.h"
#include "options.h"
#include "ownership_audit.h"
#include "peer_pool.h"
#include "read_lease.h"
#include "store/plain_store.h"
#include "vdi_ops.h"
#include "vdi_table.h"

namespace sd {

class Server;

struct Sheep {
  explicit Sheep(const SheepOptions& o);

  SheepOptions opts;
  SdNode self{};
  ReadLease lease;  // local reads by clients on this machine
  PlainStore store;
  ConfigFile config;
  EpochLog epochs;
  VdiTable vdis;
  Group group;
  PeerPool peers{std::chrono::seconds(30)};  // object I/O and recovery between sheep
  PeerPool admin_peers;  // forwarding to the master: VDI operations may run long
  Gateway gateway;
  VdiOps vdi_ops;
  EpochRings rings;               // the ring of every epoch of the history
  OwnershipAudit audit;           // which live copies may be served
  ObjectRecovery recovery;        // single objects, on demand
  EpochRecovery epoch_recovery;   // everything, after each epoch change
  std::unique_ptr<ClusterDriver> driver;
  Server* server = nullptr;

  // Rebuilds the VDI table from the inode objects in the local store.
  void rebuild_vdi_table();
  // Asks the event loop to stop (shutdown, kill, SIGTERM).
  void request_stop();
  // The object store failed: leave the cluster at once (the others move on
  // to an epoch without us), then stop.
  void leave_for_failed_store(const std::string& why);
  std::thread leaver;  // runs that leave; joined by main
};

}  // namespace sd
