// GroupSync: makes written data durable with as few device flushes as the
// load allows (group commit).
//
// A writer calls sync(fd) after its pwrite and waits in a queue. One writer
// at a time leads: it takes every writer queued so far as its batch (each
// finished its pwrite before queueing, so one sync started now covers them
// all), syncs, and hands the result to each of them. A batch of one is an
// fdatasync of that writer's file; a larger batch is one syncfs() of the
// filesystem, which writes back every dirty file and commits the journal
// and then flushes the device once, where separate fdatasyncs would each
// flush it. Syncs never overlap, so a write-back error is reported to the
// batch whose sync saw it, and a failed sync fails every writer it covered.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "result.h"

namespace sd {

class GroupSync {
 public:
  Status sync(int fd);
  // Counters for tests and logs: syncs issued and writes they covered.
  uint64_t syncs() const;
  uint64_t writes() const;

 private:
  struct Waiter {
    int fd;
    bool done = false;
    int error = 0;
  };
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Waiter*> queue_;  // writers waiting for the next batch
  bool syncing_ = false;
  uint64_t syncs_ = 0, writes_ = 0;
};

}  // namespace sd
