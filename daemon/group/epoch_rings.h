// EpochRings: the vnode ring of any epoch of the history, for walking back
// through an object's earlier owners (recovery) and for telling whether
// this node owned an object in an epoch (the ownership audit).
//
// A record this node lacks (it was down while the epoch was made) is asked
// of the current members (GET_EPOCH) and saved in the local epoch log, so
// that `dog cluster info` shows it with its real members. Records never
// change once written; format clears the history and this cache (clear()).
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

 private:
  EpochLog& log_;
  PeerPool& peers_;
  const MembershipSource& members_;
  std::mutex mu_;
  std::map<uint32_t, std::shared_ptr<const VnodeRing>> rings_;  // guarded by mu_
};

}  // namespace sd
