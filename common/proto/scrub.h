// SCRUB (ours, opcode 0xE6; docs/PROTOCOL.md §3.4 and §9.7): starts, stops
// or reports one sheep's scrubber, which checks every copy it holds
// against its block checksums, compares the copies of each object among
// their owners, and repairs what it finds. `dog cluster scrub` sends it to
// every node.
//
// Request: raw[0] = the command, raw[1] = the rate for START in MiB/s (0:
// the default). The reply's data is a ScrubStatus (data_length asks for
// at least its size, else BUFFER_SMALL).
#pragma once
#include <cstddef>
#include <cstdint>

namespace sd {

enum class ScrubCommand : uint32_t { Status = 0, Start = 1, Stop = 2 };

// One sheep's scrubber. The counters of findings run since the sheep
// started; those of a pass are of the current pass (or the last one, when
// none runs).
struct ScrubStatus {
  uint32_t running;    // 1 while a pass runs
  uint32_t rate_mib;   // MiB/s a pass reads at most
  uint64_t passes;     // passes finished since start-up
  uint64_t checked;    // objects looked at in the pass
  uint64_t total;      // objects the pass set out to look at
  uint64_t found;      // bad copies found (by the scrubber or by a read)
  uint64_t repaired;   // of them, repaired
  uint64_t unrepaired; // of them, not repairable (no good copy, no majority)
  uint64_t bytes;      // bytes checked in the pass
};
static_assert(sizeof(ScrubStatus) == 64);
static_assert(offsetof(ScrubStatus, passes) == 8 && offsetof(ScrubStatus, bytes) == 56);

inline constexpr uint32_t kScrubDefaultRateMib = 32;

// The payload of a conditional REPAIR_REPLICA (ours: the scrubber's
// majority repair, docs/PROTOCOL.md §9.7): the receiver replaces its copy
// with the one read from forw.addr:forw.port only if that one hashes to
// `good` and its own still hashes to `current` (SHA-1s as GET_HASH gives
// them); otherwise nothing changes and the answer is AGAIN. Without a
// payload (upstream's dog) the copy is replaced unconditionally.
struct RepairCondition {
  uint8_t good[20];
  uint8_t current[20];
};
static_assert(sizeof(RepairCondition) == 40);

}  // namespace sd
