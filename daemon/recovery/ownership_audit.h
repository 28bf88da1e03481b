// OwnershipAudit: which of this node's live object files may be served.
//
// Writes of an epoch reach that epoch's owners only. So a live copy is
// current only if this node owned the object (was one of its replica
// holders on the ring) in every epoch since the copy was last known to be
// current; a copy kept through an epoch in which the node was not an owner
// (it was down, cut off, or the ring had moved the object elsewhere for a
// while) may have missed writes, whatever the ring says now. Such a copy
// moves to .stale/<oid>.<E>, E being the last epoch in which it was
// current: recovery may still take it from there, but it is never served
// as a live copy again.
//
// "Last known current" is `audited()` (the newest epoch through which
// every live file was checked, kept in obj/.audited so that a restart
// after missed epochs is caught) or, for a copy written whole since then
// (fetched, restored, created), the epoch it was written at
// (mark_current()).
//
// check() is the per-access test: one atomic load while nothing is
// pending. audit() checks every file after an epoch change and advances
// audited(); the listener hears of it (local reads resume then).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "group/membership.h"
#include "result.h"

namespace sd {

class ObjectStore;
class EpochRings;
class ObjectPolicy;

class AuditListener {
 public:
  virtual ~AuditListener() = default;
  // Every live copy is known current through `epoch`.
  virtual void on_audited(uint32_t epoch) = 0;
};

class OwnershipAudit {
 public:
  OwnershipAudit(ObjectStore& store, EpochRings& rings, const MembershipSource& members,
                 const ObjectPolicy& policy, std::string state_path)
      : store_(store),
        rings_(rings),
        members_(members),
        policy_(policy),
        path_(std::move(state_path)) {}

  void set_listener(AuditListener* l) { listener_ = l; }
  // Reads the persisted epoch (0 when there is none: every epoch is checked).
  void load();
  uint32_t audited() const { return audited_.load(); }
  // Format: the store is empty and the history restarts at `epoch`.
  void reset(uint32_t epoch);

  // True when oid's live copy, if there is one, may be served under m. A
  // copy that may have missed writes is moved to .stale first and false is
  // returned: the caller then treats the object as missing.
  bool check(uint64_t oid, const Membership& m);
  // The live copy of oid is about to be written whole at `epoch` (fetched,
  // restored, created): it is current there whatever came before.
  void mark_current(uint64_t oid, uint32_t epoch);
  // After such a write: if the epoch has moved on meanwhile, checks the copy
  // against the current membership at once (an audit that ran in between
  // did not see it).
  void settle(uint64_t oid, uint32_t written_at);
  // Both around `write`, which puts a whole copy of oid in place at `epoch`.
  template <class Write>
  Status write_whole(uint64_t oid, uint32_t epoch, Write&& write) {
    mark_current(oid, epoch);
    Status st = write();
    settle(oid, epoch);
    return st;
  }
  // The live copy of oid stops being served: it moves to .stale as current
  // through `epoch` (its owners changed within the epoch; see
  // EpochRecovery::copies_changed). NoObj when there is none.
  Status retire(uint64_t oid, uint32_t epoch);
  // True when a current live copy of oid is here (check() passes and the
  // file exists).
  bool has_current(uint64_t oid, const Membership& m);
  // Checks every live copy under m, then advances audited() to m.epoch.
  // Returns false, with audited() unchanged, when `abandon` says so midway.
  bool audit(const Membership& m, const std::function<bool()>& abandon);

 private:
  struct Fresh {
    uint32_t epoch;
    uint64_t seq;
  };
  // The epoch through which oid's copy is known current.
  uint32_t known_current(uint64_t oid);
  // The first epoch in (from, m.epoch] in which this node did not own
  // oid (or whose ring is unknown); 0 when it owned it in all of them.
  uint32_t first_missed(uint64_t oid, uint32_t from, const Membership& m);
  void save(uint32_t epoch);

  ObjectStore& store_;
  EpochRings& rings_;
  const MembershipSource& members_;
  const ObjectPolicy& policy_;
  const std::string path_;
  AuditListener* listener_ = nullptr;
  std::atomic<uint32_t> audited_{0};
  std::atomic<bool> any_fresh_{false};  // fresh_ is not empty
  std::mutex mu_;  // serialises the decision to move a copy with the move
  std::unordered_map<uint64_t, Fresh> fresh_;  // guarded by mu_
  uint64_t seq_ = 0;                            // guarded by mu_
};

}  // namespace sd
