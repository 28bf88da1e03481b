// ObjectRecovery: bringing one object to this node when the current epoch
// says it owns the object but holds no current copy, and serving the
// recovery reads other nodes send for the same purpose.
//
// fetch() walks the epoch history from the newest epoch down. At each
// epoch it asks that epoch's owners which are still members for a copy
// current through that epoch (READ_PEER + CMD_RECOVERY with tgt_epoch; the
// peer answers from its live file, or from a stale copy at least that
// recent); an epoch in which this node itself was an owner may be served
// by our own stale copy, put back with a rename. The first copy found is
// the newest there is. When no epoch yields one, the newest stale copy held
// by any member is taken (the object has no current copy left anywhere;
// an old one beats none). Fetches of one oid are serialised, so a burst of
// requests triggers one transfer. Every copy stored is marked current with
// the ownership audit before it lands.
//
// Of an erasure-coded object this node holds the strip of its position
// among the owners; it is rebuilt (strip_recovery.cpp) from any D strips
// found the same way, newest epoch first, or taken as is when some node
// still has that very strip.
//
// Folder recovery/ may use base/, store/, peers/ and group/.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>

#include "group/membership.h"
#include "result.h"

namespace sd {

class ObjectStore;
class PeerPool;
class EpochRings;
class ObjectPolicy;
class OwnershipAudit;
class LocalReplica;

class ObjectRecovery {
 public:
  ObjectRecovery(ObjectStore& store, PeerPool& peers, EpochRings& rings, OwnershipAudit& audit,
                 LocalReplica& replica, const MembershipSource& members,
                 const ObjectPolicy& policy)
      : store_(store),
        peers_(peers),
        rings_(rings),
        audit_(audit),
        replica_(replica),
        members_(members),
        policy_(policy) {}

  // Makes a current copy of oid present locally if anyone has one. NoObj
  // when nobody has any copy; OldNodeVer when this node does not own oid
  // under the current epoch (it moved on since the caller looked).
  Status fetch(uint64_t oid);
  // Of an erasure-coded oid: rebuilds this node's strip from the others
  // whether or not one is here (dog vdi check found it missing or wrong).
  Status rebuild_strip(uint64_t oid);
  // Serves a recovery read: a copy of oid current through at least
  // tgt_epoch (0: the newest copy of any age). *copy_epoch receives the
  // epoch through which the copy sent is current.
  // `piece`: the strip asked for (kWholeObject: a replicated object).
  Status read_for_recovery(uint64_t oid, uint32_t tgt_epoch, void* buf, uint32_t len,
                           uint32_t offset, uint32_t* copy_epoch, int piece = -1);
  // A whole object (or strip `piece`) from one peer with a recovery read.
  Status read_from_peer(const NodeId& nid, uint64_t oid, uint32_t tgt_epoch, void* buf,
                        uint32_t size, uint32_t* copy_epoch = nullptr, int piece = -1);

 private:
  // fetch() and rebuild_strip(), one at a time per oid.
  Status fetch_exclusive(uint64_t oid, bool rebuild);
  Status try_fetch(uint64_t oid, const MembershipPtr& m);
  // Rebuilds strip `want` of an erasure-coded oid (strip_recovery.cpp).
  Status try_fetch_strip(uint64_t oid, const MembershipPtr& m, int want);

  ObjectStore& store_;
  PeerPool& peers_;
  EpochRings& rings_;
  OwnershipAudit& audit_;
  LocalReplica& replica_;
  const MembershipSource& members_;
  const ObjectPolicy& policy_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<uint64_t> in_progress_;  // guarded by mu_
};

}  // namespace sd
