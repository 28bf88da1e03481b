// Membership: one epoch's view of the cluster (its number, its nodes in
// node order with their final vnode counts, and the ring built from them).
//
// Immutable once published: Group swaps in a new shared_ptr on every epoch
// change, and the I/O path loads it atomically and reads it lock-free.
// MembershipSource is what a part needs to see the current one.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "proto/node.h"
#include "ring.h"

namespace sd {

struct Membership {
  Membership(uint32_t e, std::vector<SdNode> n, int self)
      : epoch(e), nodes(n), ring(std::move(n)), self_index(self) {}
  uint32_t epoch;
  std::vector<SdNode> nodes;
  VnodeRing ring;
  int self_index;  // -1 when this sheep is not a member

  bool is_self(int idx) const { return idx == self_index; }
  bool has(const NodeId& nid) const { return ring.find(nid) >= 0; }
};

using MembershipPtr = std::shared_ptr<const Membership>;

// What the I/O and recovery layers see of the cluster: the membership
// published now, and waits for the next one.
class MembershipSource {
 public:
  virtual ~MembershipSource() = default;
  virtual MembershipPtr membership() const = 0;
  // Waits until this node is at `epoch` or later; false at the deadline
  // (or when the node stops serving).
  virtual bool wait_for_epoch(uint32_t epoch, std::chrono::milliseconds timeout) const = 0;
  // Waits until a membership other than `seen` is published, at most
  // `timeout` (an epoch change in progress settles).
  virtual void wait_for_change(const Membership* seen, std::chrono::milliseconds timeout) const = 0;
  // A strict cluster (format -t): a write halts unless every copy (every
  // strip) of its object can be placed in a zone of its own.
  virtual bool strict() const = 0;
  // True when every member has recovered the current epoch (so no member
  // keeps stale copies of objects that have a live one).
  virtual bool cluster_recovered() const = 0;
};

}  // namespace sd
