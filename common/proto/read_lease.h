// The read lease: a page of shared memory through which a sheep lets
// clients on the same machine read its object files directly ("local
// reads"), and tells them when they must stop trusting what they read.
//
// The sheep keeps DIR/obj/.read-lease (one page, never unlinked or recreated, so
// a mapping survives sheep restarts) up to date:
//   gen      bumped after any change that could make a client's view stale:
//            an object file replaced, removed or retired; the membership,
//            epoch or serving state changing; the sheep starting.
//   epoch    the epoch the sheep serves I/O at.
//   serving  1 while the sheep answers I/O (cluster running, not suspended).
//   members  bumped whenever the sheep publishes a membership (node list),
//            even within one epoch (a restart publishes partial lists).
//   self     the sheep's node id, to find it in GET_NODE_LIST.
//   until    0, or the CLOCK_MONOTONIC millisecond at which the sheep's
//            cluster driver stops vouching that it is still a member the
//            others see (ZooKeeper: half a session timeout after the last
//            answer). A sheep frozen or cut off cannot lower `serving` in
//            time; this bound expires by itself.
// A client reads gen, checks serving (and until), confirms from the ring of the current
// `members` version (GET_NODE_LIST, accepted only if `members` did not move
// around the call) that this sheep holds a copy of the object, reads the
// object file, then reads gen again: only if it is unchanged is the data as
// fresh as the sheep's own local read would have been. Anything else means
// "ask the sheep". Not part of upstream Sheepdog's protocol.
#pragma once
#include <atomic>
#include <cstdint>

#include "proto/node.h"

namespace sd {

inline constexpr uint64_t kReadLeaseMagic = 0x3165736165724453ull;  // "SDrease1"
// Inside obj/ (a name that is never an object) so that DIR keeps upstream layout.
inline constexpr const char* kReadLeaseFile = "obj/.read-lease";
inline constexpr size_t kReadLeaseSize = 4096;

struct ReadLeasePage {
  std::atomic<uint64_t> magic;
  std::atomic<uint64_t> gen;
  std::atomic<uint32_t> epoch;
  std::atomic<uint32_t> serving;
  NodeId self;
  std::atomic<uint64_t> members;
  std::atomic<int64_t> until_ms;  // added after the first version: zero there
};
static_assert(std::atomic<uint64_t>::is_always_lock_free &&
              std::atomic<int64_t>::is_always_lock_free &&
              std::atomic<uint32_t>::is_always_lock_free,
              "the lease is shared between processes: its atomics must be lock-free");
static_assert(sizeof(ReadLeasePage) <= kReadLeaseSize);

}  // namespace sd
