// Scrubber: finds copies that went bad on disk before anyone reads them,
// and repairs them (docs/PROTOCOL.md §9.7; `dog cluster scrub`).
//
// A pass, started by SCRUB, walks every object this node holds a current
// copy of, at most `rate` MiB/s:
//  - each copy is checked against its block checksums; a copy without them
//    (written by an older daemon) is given them once the owners' copies
//    agree (or there is no other copy to compare with);
//  - of a replicated object, the node that is its first owner compares
//    the SHA-1 of every owner's copy; a copy that differs from the
//    majority (asked twice, a second apart, so that a write in flight is
//    not taken for damage) is replaced by a majority copy;
//  - of an erasure-coded object, a bad strip is reported (reads rebuild
//    its bytes from the other strips); `dog vdi check` rebuilds it: a
//    rebuild reads the other strips one after another, and writes in
//    flight could mix two versions into it.
// A copy found bad, by the pass or by any read (the store's corruption
// hook), is queued for repair: its bad blocks are replaced with those of a
// copy another owner serves checked, and only those (repair_blocks), so a
// write that reaches us meanwhile is not undone; if one did, the repair is
// tried again a moment later. Findings go to the log and to status().
//
// Folder recovery/ may use base/, store/, peers/ and group/.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "group/membership.h"
#include "proto/scrub.h"
#include "result.h"

namespace sd {

class ObjectStore;
class PeerPool;
class ObjectPolicy;
class OwnershipAudit;
class ObjectRecovery;
class LocalReplica;
struct ObjectLayout;

class Scrubber {
 public:
  Scrubber(ObjectStore& store, PeerPool& peers, const MembershipSource& members,
           const ObjectPolicy& policy, OwnershipAudit& audit, ObjectRecovery& recovery,
           LocalReplica& replica);
  ~Scrubber();
  Scrubber(const Scrubber&) = delete;
  Scrubber& operator=(const Scrubber&) = delete;

  // Starts a pass at rate_mib MiB/s (0: the default); a pass already
  // running takes the new rate.
  void start(uint32_t rate_mib);
  // Ends the running pass, if any (queued repairs still run).
  void stop();
  // Ends the scrubber's work for good (shutdown): passes and repairs.
  void quit();
  ScrubStatus status() const;
  // A copy here failed its checksums (any thread; cheap, never blocks on
  // I/O): queued for repair. At most kMaxQueued wait; more are dropped
  // (the next pass finds them again). A copy that could not be repaired
  // (one copy, no good one elsewhere, a coded strip) is not tried again,
  // nor counted or logged again, for kRetryUnrepairable, whatever reads
  // meet it meanwhile; a pass started tries every copy again.
  void object_corrupt(uint64_t oid);

  static constexpr size_t kMaxQueued = 4096;
  static constexpr std::chrono::seconds kRetryUnrepairable{600};

 private:
  void loop();
  void run_pass();
  // Checks one object of the pass; returns the bytes it read.
  uint64_t check(uint64_t oid);
  // Repairs this node's copy of oid; true when it is good now.
  bool repair(uint64_t oid);
  bool repair_blocks_from_peers(uint64_t oid, const ObjectLayout& l, const MembershipPtr& m);
  // Takes the next queued copy off the queue and repairs it; false when
  // none waits. Holds mu_ (lk) except during the repair.
  bool repair_next(std::unique_lock<std::mutex>& lk);
  // The first owner's comparison of the copies of a replicated object.
  void compare_copies(uint64_t oid, const ObjectLayout& l, const MembershipPtr& m);
  // The SHA-1 of each owner's copy (false where it gave none).
  void hashes(uint64_t oid, const MembershipPtr& m, int count, const uint16_t* nodes,
              uint8_t (*digest)[20], bool* have);
  // Waits up to ms, or until the pass is stopped (or, with for_repairs,
  // a repair is queued); false when stopping.
  bool pause(int64_t ms, bool for_repairs = true);
  // Whether every owner of a replicated oid that answered (at least two)
  // holds the same bytes.
  bool copies_agree(uint64_t oid, const ObjectLayout& l, const MembershipPtr& m);

  ObjectStore& store_;
  PeerPool& peers_;
  const MembershipSource& members_;
  const ObjectPolicy& policy_;
  OwnershipAudit& audit_;
  ObjectRecovery& recovery_;
  LocalReplica& replica_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<uint64_t> queue_;  // copies to repair; guarded by mu_
  std::set<uint64_t> queued_;   // the same, for lookups; guarded by mu_
  // Copies that could not be repaired -> when they may be tried again (at
  // most kMaxQueued); guarded by mu_.
  std::map<uint64_t, std::chrono::steady_clock::time_point> unrepairable_;
  bool pass_wanted_ = false;    // guarded by mu_
  bool stop_pass_ = false;      // guarded by mu_
  bool quitting_ = false;       // guarded by mu_

  std::atomic<bool> running_{false};
  std::atomic<uint32_t> rate_mib_{kScrubDefaultRateMib};
  std::atomic<uint64_t> passes_{0}, checked_{0}, total_{0}, bytes_{0};
  std::atomic<uint64_t> found_{0}, repaired_{0}, unrepaired_{0};
  std::thread thread_;
};

}  // namespace sd
