// RecoveryScope: whom a node must ask for object lists after an epoch
// change, when the previous epoch was recovered completely everywhere.
//
// Then every owner under the previous ring held every object it owned,
// in its position, so a node can lack (and must fetch) only objects whose
// owners changed around it: those it owns under the new ring but did not
// own before (for a coded placement, not in the same position). Which
// objects those are is decided by the rings alone: placement is constant
// between two consecutive vnode positions of either ring, so comparing the
// two rings at every position names the changed stretches of the ring,
// and their owners under both rings are the only members that can hold
// such an object. Members that were not in the previous ring are asked
// too: a node coming back may bring the only copy of an object.
//
// The cost follows the change, not the cluster: after one node leaves, a
// node asks the few members it shares changed stretches with, instead of
// every member (N² lists in the cluster for every epoch change).
#pragma once
#include <vector>

#include "group/object_policy.h"
#include "ring.h"

namespace sd {

// Indices into cur.nodes() of the members to ask (never `self`), sorted.
// `self` is this node's index in cur; `kinds` every placement in use
// (ObjectPolicy::kinds_in_use). A node absent from `prev` (it joined) must
// ask everyone: the caller does not use this then.
std::vector<int> members_to_list(const VnodeRing& prev, const VnodeRing& cur, int self,
                                 const std::vector<PlacementKind>& kinds);

}  // namespace sd
