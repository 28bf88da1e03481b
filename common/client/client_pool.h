// ClientPool: a few connections to one sheep for requests that may travel
// on any connection (reads of data objects), so that concurrent callers
// rarely share one.
//
// A SheepClient shared by many threads hands each reply from the thread
// that read it to the thread that waits for it: a wake-up and a context
// switch per request (docs/PERFORMANCE.md, "Profile"). Here each
// thread is given one connection of the pool, round robin on its first
// call, so with as many connections as threads every caller reads its own
// reply. Connections are made on first use; one that cannot be made falls
// back to the shared client (tried again a second later), so the pool
// never fails a request the shared client could serve.
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "client/sheep_client.h"
#include "net.h"

namespace sd {

class ClientPool {
 public:
  // size 0 or 1: every pick() is `shared`.
  ClientPool(const Endpoint& ep, SheepClient& shared, unsigned size);
  ~ClientPool();
  ClientPool(const ClientPool&) = delete;
  ClientPool& operator=(const ClientPool&) = delete;

  // The calling thread's connection.
  SheepClient& pick();
  // Connections made so far.
  unsigned connections() const;

 private:
  using Clock = std::chrono::steady_clock;
  const Endpoint ep_;
  SheepClient& shared_;
  // Slot i's connection once made (never replaced: a SheepClient
  // reconnects by itself), read lock-free by pick().
  std::vector<std::atomic<SheepClient*>> slots_;
  mutable std::mutex mu_;  // guards owned_, retry_after_; serialises connecting
  std::vector<std::unique_ptr<SheepClient>> owned_;
  Clock::time_point retry_after_{};  // after a failed connect
};

}  // namespace sd
