// ExportLock: the VDI lock a writable export holds (on by default in
// clusters our dog formats; see README "One writer per VDI").
//
// The lock belongs to the plugin's connection to its gateway sheep, so it
// ends when nbdkit exits or dies and when that sheep goes away. When the
// connection is made again (the sheep restarted), the next write takes the
// lock again first, and fails (EROFS) if another writer holds it by then.
#pragma once
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
  // Before a write: true when the lock is held on the current connection.
  bool ensure();
  // RELEASE_VDI of vid (the VDI's current vid: a snapshot moves the lock to
  // the new working VDI).
  void release(uint32_t vid);

 private:
  bool acquire_locked();

  sd::SheepClient& client_;
  const std::string name_;
  const bool shared_;
  std::mutex mu_;
  uint64_t generation_ = 0;  // the connection the lock was taken on; 0: none; guarded by mu_
};
