// ExportLock: the VDI lock a writable export holds (on by default in
// clusters our dog formats; see README "One writer per VDI").
//
// The lock belongs to the plugin's connection to its gateway sheep, so it
// ends when nbdkit exits or dies and when that sheep goes away. When the
// connection is made again (the sheep restarted), the next write takes the
// lock again first, and fails (EROFS) if another writer holds it by then.
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "client/sheep_client.h"

class ExportLock {
 public:
  ExportLock(sd::SheepClient& c, std::string name, bool shared)
      : client_(c), name_(std::move(name)), shared_(shared) {}
  // Takes the lock. On failure logs (nbdkit_error) who holds it, since
  // when and how to break it, and returns false.
  bool acquire();
  // Before a write: true when the lock is held on the current connection
  // (taken again, after a reconnection, if need be).
  bool ensure();
  // Releases the lock if this connection still holds it (a snapshot moved
  // it to the VDI's current vid, looked up by name).
  void release();

 private:
  // log_refusal: say who holds it when the lock is refused.
  bool acquire_locked(bool log_refusal);

  sd::SheepClient& client_;
  const std::string name_;
  const bool shared_;
  std::mutex mu_;  // serialises taking and releasing the lock
  // The connection the lock was taken on (0: none); written under mu_,
  // read lock-free by ensure()'s fast path.
  std::atomic<uint64_t> generation_{0};
};
