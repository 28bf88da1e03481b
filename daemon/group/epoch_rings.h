// EpochRings: the vnode ring of any epoch of the history, for walking back
// through an object's earlier owners (recovery) and for telling whether
// this node owned an object in an epoch (the ownership audit).
//
// A record this node lacks (it was down while the epoch was made) is asked
// of the current members (GET_EPOCH) and saved in the local epoch log, so
// that `dog cluster info` shows it with its real members. A format, or a
// first join that adopts another cluster's history, replaces the history
// (clear()): a ring or record being fetched across that is neither kept
// nor saved (a generation, checked under the lock that clear() takes).
//
// The rings built are kept for the next walk: every ring of the newest
// kKeptEpochs epochs of the cache (the audit scans its window upward
// object after object, recovery walks down from the current epoch: a
// window the cache cannot hold whole would be rebuilt for every object),
// and older ones up to kCachedVnodes vnodes in all (16 bytes each), the
// oldest going first. The history grows by an epoch at every change and is
// kept whole on disk, as upstream's; the memory for it is bounded.
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
  // 1,000 nodes; beyond that only the newest kKeptEpochs stay (64 rings:
  // 13 MiB at 100 nodes, 128 MiB at 1,000).
  static constexpr size_t kCachedVnodes = size_t(1) << 21;
  static constexpr uint32_t kKeptEpochs = 64;

 private:

  EpochLog& log_;
  PeerPool& peers_;
  const MembershipSource& members_;
  std::mutex mu_;
  // record() for a lookup that began at `generation`.
  Result<EpochRecord> record(uint32_t epoch, uint64_t generation);

  std::map<uint32_t, std::shared_ptr<const VnodeRing>> rings_;  // guarded by mu_
  size_t vnodes_ = 0;        // of rings_; guarded by mu_
  uint64_t generation_ = 0;  // bumped by clear(); guarded by mu_
};

}  // namespace sd
