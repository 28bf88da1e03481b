// EpochRecovery: after every epoch change, bring to this node a current
// copy of every object the new ring says it must hold, and, once every
// member has done the same, drop the stale copies nobody needs any more.
//
// A run for epoch E:
//  0. audit: live copies that may have missed writes (see OwnershipAudit)
//     move to .stale, objects this node no longer owns among them;
//  1. list: the union of the members' objects, live and stale
//     (GET_OBJ_LIST, GET_STALE_LIST), kept to those this node owns under E
//     and lacks. When E-1 was recovered completely by every member and by
//     this node too, only the members the ring change can concern are
//     asked (RecoveryScope); else every member;
//  2. fetch: each of them through ObjectRecovery::fetch (newest copy
//     first), throttled to max_exec_count objects per interval when
//     throttling is set, paused while recovery is disabled, and waiting
//     with a clear state while the disk is full;
//  3. report: a "recovered E" message to the cluster. When every member
//     of E has reported and E is still current, each node removes a stale
//     copy once an owner under E holds the object live; a copy nobody else
//     has is kept (it may still be needed).
// A newer epoch in the middle abandons the run and starts one for the new
// epoch (nothing fetched is lost; the new list is simply recomputed).
// stop() aborts at once: every wait ends and peer calls fail (PeerPool).
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "group/membership.h"
#include "proto/node.h"
#include "proto/results.h"

namespace sd {

class ObjectStore;
class PeerPool;
class EpochRings;
class ObjectPolicy;
class OwnershipAudit;
class ObjectRecovery;

// What recovery needs from the cluster layer.
class RecoveryCluster {
 public:
  virtual ~RecoveryCluster() = default;
  // Running and in the cluster (not waiting, shut down or suspended).
  virtual bool running() const = 0;
  virtual bool recovery_disabled() const = 0;
  // Tells every member that this node has recovered `epoch` (complete: it
  // listed every member it asked, and fetched everything without failure).
  virtual Res report_recovered(uint32_t epoch, bool complete) = 0;
  // Every member of `epoch` reported it recovered completely.
  virtual bool recovered_completely(uint32_t epoch) const = 0;
};

class EpochRecovery {
 public:
  EpochRecovery(ObjectStore& store, PeerPool& peers, EpochRings& rings, OwnershipAudit& audit,
                ObjectRecovery& objects, const MembershipSource& members,
                RecoveryCluster& cluster, const ObjectPolicy& policy)
      : store_(store),
        peers_(peers),
        rings_(rings),
        audit_(audit),
        objects_(objects),
        members_(members),
        cluster_(cluster),
        policy_(policy) {}
  ~EpochRecovery() { stop(); }
  void start();
  void stop();

  // A new epoch is current (called on the cluster's delivery thread).
  void epoch_changed(uint32_t epoch);
  // Every member of `epoch` has recovered it.
  void all_recovered(uint32_t epoch);
  // The store was emptied for a history that starts at `epoch` (format,
  // first join): nothing before it is to be recovered or cleaned, and the
  // empty store is complete for it.
  void store_reset(uint32_t epoch);
  // VDI `vid` (0: the cluster's count, which places VDI attribute objects)
  // keeps another number of copies from now on, within the
  // epoch: the live copies of its objects this node no longer owns become
  // stale (they stop getting writes), and the pass runs again for the
  // current epoch, so the new owners fetch and the stale copies go.
  void copies_changed(uint32_t vid);
  // Objects this node held are gone (a disk failed): the pass runs again
  // for the current epoch and fetches them from the other nodes.
  void recheck();
  // For STAT_RECOVERY.
  RecoveryState state() const;
  void set_throttle(uint32_t max_objects, uint64_t interval_ms);
  RecoveryThrottling throttle() const;

 private:
  void run();
  // False when a newer epoch superseded this run.
  // `may_narrow`: the list may be asked of only the members the ring
  // change concerns (see the header comment).
  bool recover(uint32_t epoch, bool may_narrow);
  // Indices of the members to ask for their lists in recover().
  std::vector<int> members_to_ask(const Membership& m, bool may_narrow);
  void clean_up(uint32_t epoch);
  // The live copies of these VDIs' objects this node does not own under
  // the current ring move to .stale.
  void retire_unowned(const std::set<uint32_t>& vids);
  bool superseded(uint32_t epoch) const;
  void wait_while_paused(uint32_t epoch);

  ObjectStore& store_;
  PeerPool& peers_;
  EpochRings& rings_;
  OwnershipAudit& audit_;
  ObjectRecovery& objects_;
  const MembershipSource& members_;
  RecoveryCluster& cluster_;
  const ObjectPolicy& policy_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;   // guarded by mu_
  uint32_t wanted_ = 0;     // newest epoch to recover; guarded by mu_
  uint32_t recovered_ = 0;  // newest epoch recovered here; guarded by mu_
  uint32_t clean_ = 0;      // newest epoch every member recovered; guarded by mu_
  uint32_t cleaned_ = 0;    // guarded by mu_
  std::set<uint32_t> altered_;  // VDIs whose copies changed; guarded by mu_
  bool pass_again_ = false;     // the last pass was fenced (see recover); guarded by mu_
  bool lost_ = false;           // objects went missing (recheck); guarded by mu_
  unsigned fenced_rounds_ = 0;  // fenced passes in a row; guarded by mu_
  // Newest epoch whose pass here listed everyone it asked and fetched
  // everything without failure; guarded by mu_.
  uint32_t complete_ = 0;
  bool full_pass_ = false;   // the next pass lists every member; guarded by mu_
  uint64_t generation_ = 0;  // bumped by store_reset; guarded by mu_
  uint64_t pass_generation_ = 0;  // generation_ when the running pass began; guarded by mu_
  uint32_t pass_complete_ = 0;  // set by recover() for its epoch; recovery thread only
  // Progress (STAT_RECOVERY).
  std::atomic<bool> in_recovery_{false};
  std::atomic<uint32_t> phase_{0};
  std::atomic<uint64_t> finished_{0}, total_{0};
  // Throttle: at most max_ objects per interval_ms_ (0: unthrottled).
  std::atomic<uint32_t> max_{0};
  std::atomic<uint64_t> interval_ms_{0};
};

}  // namespace sd
