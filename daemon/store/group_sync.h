// GroupSync: group commit for one file. Writers that wrote to the same file
// at about the same time share one fdatasync instead of each issuing their
// own.
//
// A writer calls sync(fd) after its pwrite and waits in a queue. One writer
// at a time leads: it takes every writer queued so far as its batch (each
// finished its pwrite before queueing, so an fdatasync started now covers
// them all), syncs the file once, and hands the result to each of them.
// Syncs of the file never overlap, so a write-back error, which the kernel
// reports once per open file, reaches the batch whose sync saw it: a failed
// sync fails every writer it covered.
//
// (Measured here: one syncfs() for writers of different files was no faster
// than their concurrent fdatasyncs, whose device flushes the kernel already
// merges; see the README's benchmark notes.)
#pragma once
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "result.h"

namespace sd {

class GroupSync {
 public:
  // fd must be the file this GroupSync belongs to, for every caller.
  // metadata: the caller changed the file's extended attributes too (its
  // block checksums), which fdatasync need not write: the batch it joins
  // is synced with fsync.
  Status sync(int fd, bool metadata = false);
  // Counters for tests and logs: syncs issued and writes they covered.
  uint64_t syncs() const;
  uint64_t writes() const;

 private:
  struct Waiter {
    bool done = false;
    int error = 0;
    bool metadata = false;
  };
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Waiter*> queue_;  // writers waiting for the next batch; guarded by mu_
  bool syncing_ = false;        // guarded by mu_
  uint64_t syncs_ = 0, writes_ = 0;  // guarded by mu_
};

}  // namespace sd
