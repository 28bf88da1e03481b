// EpochRings: the vnode ring of any epoch of the history, for walking back
// through an object's earlier owners (recovery) and for telling whether
// this node owned an object in an epoch (the ownership audit).
//
// A record this node lacks (it was down while the epoch was made) is asked
// of the current members (GET_EPOCH) and saved in the local epoch log, so
// that `dog cluster info` shows it with its real members. Records never
// change once written; format clears the history and this cache (clear()).
//
// The rings built are kept for the next walk, up to kCachedVnodes vnodes
// in all (16 bytes each): the history grows by an epoch at every change
// and is kept whole, as upstream's, but the memory for it does not grow
// with it. The oldest epoch's ring goes first: the walks start from the
// newest epochs (recovery walks down from the current one, the audit
// scans up to it, object after object), so those are the ones used again,
// and a walk longer than the cache does not push all of them out in turn
// (as dropping the least recently used would).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "group/epoch_log.h"
#include "group/membership.h"
#include "result.h"
#include "ring.h"

namespace sd {

class PeerPool;

class EpochRings {
 public:
  EpochRings(EpochLog& log, PeerPool& peers, const MembershipSource& members)
      : log_(log), peers_(peers), members_(members) {}

  // The record of `epoch`, from the local log or fetched from a member.
  // NoTag when no member has it.
  Result<EpochRecord> record(uint32_t epoch);
  // The ring of `epoch`; nullptr when its record cannot be found.
  std::shared_ptr<const VnodeRing> ring(uint32_t epoch);
  void clear();
  // Vnodes of the rings kept now (tests).
  size_t cached_vnodes();

  // About 32 MiB of rings: 163 epochs of 100 nodes of 128 vnodes, 16 of
  // 1,000 nodes.
  static constexpr size_t kCachedVnodes = size_t(1) << 21;

 private:

  EpochLog& log_;
  PeerPool& peers_;
  const MembershipSource& members_;
  std::mutex mu_;
  std::map<uint32_t, std::shared_ptr<const VnodeRing>> rings_;  // guarded by mu_
  size_t vnodes_ = 0;  // of rings_; guarded by mu_
};

}  // namespace sd
