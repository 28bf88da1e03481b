// EpochRecovery: after every epoch change, bring to this node every object the
// new ring says it must hold, and, once every member has done the same,
// drop the objects it no longer owns.
//
// A run for epoch E:
//  1. list: the union of every member's object list (GET_OBJ_LIST), kept
//     to the objects this node owns under E and lacks;
//  2. fetch: each of them from the owners of earlier epochs (the same
//     ObjectEpochRecovery::fetch that serves I/O on a miss), throttled to
//     max_exec_count objects per interval when throttling is set, paused
//     while recovery is disabled, and stopped with a clear state while the
//     disk is full (it retries when there is room);
//  3. report: a "recovered E" message to the cluster. When every member of
//     E has reported and E is still current, each node removes the objects
//     it holds but does not own under E, and empties .stale.
// A newer epoch in the middle abandons the run and starts one for the new
// epoch (nothing fetched is lost; the new list is simply recomputed).
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "proto/node.h"

namespace sd {

struct Sheep;

class EpochRecovery {
 public:
  explicit EpochRecovery(Sheep& s) : sheep_(s) {}
  ~EpochRecovery() { stop(); }
  void start();
  void stop();

  // From Group, on the delivery thread: a new epoch is current.
  void epoch_changed(uint32_t epoch);
  // From Group: every member of `epoch` has recovered it.
  void all_recovered(uint32_t epoch);
  // For STAT_RECOVERY.
  RecoveryState state() const;
  void set_throttle(uint32_t max_objects, uint64_t interval_ms);
  RecoveryThrottling throttle() const;

 private:
  void run();
  // False when a newer epoch superseded this run.
  bool recover(uint32_t epoch);
  void clean_up(uint32_t epoch);
  bool superseded(uint32_t epoch) const;
  void wait_while_paused(uint32_t epoch);

  Sheep& sheep_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  uint32_t wanted_ = 0;     // newest epoch to recover
  uint32_t recovered_ = 0;  // newest epoch recovered here
  uint32_t clean_ = 0;      // newest epoch every member recovered
  uint32_t cleaned_ = 0;
  // Progress (STAT_RECOVERY).
  std::atomic<bool> in_recovery_{false};
  std::atomic<uint32_t> phase_{0};
  std::atomic<uint64_t> finished_{0}, total_{0};
  // Throttle: at most max_ objects per interval_ms_ (0: unthrottled).
  std::atomic<uint32_t> max_{0};
  std::atomic<uint64_t> interval_ms_{0};
};

}  // namespace sd
