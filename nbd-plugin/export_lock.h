// ExportLock: the VDI lock a writable export holds (on by default in
// clusters our dog formats; see README "One writer per VDI"), and the
// connection it lives on.
//
// The lock belongs to a connection to the gateway sheep, so it has its
// own: every write of the export that goes through the gateway goes
// through it (Vdi::set_write_client), and it never reconnects by itself.
// Direct writes (direct=) carry the hold's token instead, which the sheep
// that receives them checks against its lock table, and are made only
// while the lock is held on the live connection (token()). When it is lost (the sheep restarted,
// the network failed), the next write makes a new connection and takes the
// lock up again there with the token the sheep gave (docs/PROTOCOL.md "VDI
// locks") before anything is written: so no write ever travels on a
// connection that does not hold the lock. The sheep refuses that when the
// lock was broken (dog vdi lock unlock), released, taken by another writer
// or its VDI deleted meanwhile: the export is then fenced, and every later
// write fails with EROFS.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "client/sheep_client.h"
#include "net.h"

class ExportLock {
 public:
  // Connects the lock's own connection to `ep`; nullptr (logged) on failure.
  static std::unique_ptr<ExportLock> open(const sd::Endpoint& ep, std::string name, bool shared);

  // The connection every write of the export goes through.
  sd::SheepClient& writer() { return *writer_; }

  // Takes the lock. On failure logs (nbdkit_error) who holds it, since
  // when and how to break it, and returns false.
  bool acquire();
  // Before a write: true when the lock is held on the live connection
  // (taken up again on a new one if need be); false: fail the write (EROFS).
  bool ensure();
  // The sheep refused a write for the lock (VdiLocked): this export no
  // longer holds it; the next ensure() finds out whether it may again.
  void lost();
  // Releases the lock if this connection still holds it (a snapshot moved
  // it to the VDI's current vid, looked up by name).
  void release();
  // The hold's token while the lock is held on the live connection, else
  // 0: what direct writes prove the lock with (client/direct_io.h).
  uint64_t token() const { return held() ? token_.load() : 0; }

 private:
  ExportLock(std::unique_ptr<sd::SheepClient> writer, std::string name, bool shared)
      : writer_(std::move(writer)), name_(std::move(name)), shared_(shared) {}
  // Takes the lock on the current connection: a new one (token 0), or the
  // hold of token_ again. log_refusal: say who holds it when refused.
  sd::Res take_locked(bool log_refusal);
  // The lock is held on the live connection (lock-free).
  bool held() const {
    uint64_t g = generation_.load();
    return g && g == writer_->generation() && !writer_->broken();
  }

  std::unique_ptr<sd::SheepClient> writer_;
  const std::string name_;
  const bool shared_;
  std::mutex mu_;  // serialises taking and releasing the lock (and writing token_)
  // The hold's token, to take it up again; read lock-free by token().
  std::atomic<uint64_t> token_{0};
  // The connection the lock is held on (0: none); written under mu_, read
  // lock-free by ensure()'s fast path.
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> fenced_{false};  // the lock can never come back
};
