// PeerPool: long-lived, pipelined connections from this sheep to the other
// sheep, one SheepClient per peer, shared by every worker thread.
//
// A peer started with `sheep -i` advertises a second address for I/O
// between sheep; it is used first, and when it cannot be reached (or a
// connection on it failed) the pool falls back to the peer's main address,
// says so in the log, and stays there for a while before trying it again.
//
// Calls on a pool with a call timeout fail (NetworkError) when a peer
// leaves a reply outstanding that long, so a peer that stopped answering
// never holds a worker or the recovery thread for good. shutdown() fails
// every call in flight at once and refuses new ones: a stopping sheep must
// not wait on peers that may be stopping too.
#pragma once
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "client/sheep_client.h"
#include "proto/node.h"

namespace sd {

class PeerPool {
 public:
  // timeout 0: calls wait as long as the peer takes (admin operations that
  // legitimately run long, such as a VDI deletion on the master).
  explicit PeerPool(std::chrono::milliseconds timeout = std::chrono::milliseconds(0))
      : timeout_(timeout) {}
  // The connection to a peer; nullptr with errno set when it cannot be
  // reached or the pool is shut down.
  std::shared_ptr<SheepClient> get(const NodeId& nid);
  // Drops a connection and fails what is in flight on it (the peer left).
  void forget(const NodeId& nid);
  void shutdown();

 private:
  using Clock = std::chrono::steady_clock;
  static Endpoint main_endpoint(const NodeId& nid);
  static Endpoint io_endpoint(const NodeId& nid);
  using Conns = std::map<std::string, std::shared_ptr<SheepClient>>;
  std::shared_ptr<SheepClient> connect(const NodeId& nid);
  // Removes a connection (mu_ held); one on the I/O address marks that
  // address down for a while.
  void drop_locked(Conns::iterator it, const NodeId& nid);
  const std::chrono::milliseconds timeout_;
  std::mutex mu_;
  // Keyed by the peer's main address.
  Conns conns_;                                                 // guarded by mu_
  std::map<std::string, Clock::time_point> io_down_until_;      // guarded by mu_
  bool shut_ = false;                                           // guarded by mu_
};

}  // namespace sd
