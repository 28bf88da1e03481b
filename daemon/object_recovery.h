// ObjectRecovery: bringing an object to this node when the current epoch
// says we own it but our store lacks it.
//
// After a membership change the ring names new owners before their objects
// have moved. Any access through this node (a local gateway read/write or
// a peer request) that misses calls fetch(), which walks back through the
// epoch history, asks each earlier owner for the object with a recovery
// read (READ_PEER + CMD_RECOVERY, answered from the live file or .stale
// without epoch checks), and stores the first copy found. Fetches of one
// oid are serialised, so a burst of requests triggers one transfer.
//
// Epoch records this node lacks (it was down while they were made) are
// fetched from the other members with GET_EPOCH and saved.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "epoch_log.h"
#include "result.h"
#include "ring.h"

namespace sd {

struct Sheep;

class ObjectRecovery {
 public:
  explicit ObjectRecovery(Sheep& s) : sheep_(s) {}
  // Makes oid present locally if any earlier owner (or our own stale
  // store) has it. NoObj when nobody has it.
  Status fetch(uint64_t oid);
  // Reads a copy for a recovery request: the live file, else the newest
  // stale copy.
  Status read_for_recovery(uint64_t oid, void* buf, uint32_t len, uint32_t offset);
  // A whole object from one peer with a recovery read (live file or
  // .stale there, no epoch check).
  Status read_from_peer(const NodeId& nid, uint64_t oid, uint32_t epoch, void* buf,
                        uint32_t size);
  // Moves every object to .stale: our copies may be older than the
  // cluster's, so they are only a last resort from now on.
  void retire_local_objects(uint32_t epoch);
  // The ring of an epoch (cached); nullptr if the epoch cannot be found.
  std::shared_ptr<const VnodeRing> ring_of(uint32_t epoch);

 private:
  Result<EpochRecord> load_epoch(uint32_t epoch);
  Status try_fetch(uint64_t oid);

  Sheep& sheep_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<uint64_t> in_progress_;
  std::map<uint32_t, std::shared_ptr<const VnodeRing>> rings_;
};

}  // namespace sd
