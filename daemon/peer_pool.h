// PeerPool: long-lived, pipelined connections from this sheep to the other
// sheep, one SheepClient per peer address, shared by every worker thread.
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "client/sheep_client.h"
#include "proto/node.h"

namespace sd {

class PeerPool {
 public:
  // The connection to a peer (io_addr:io_port when set); nullptr with
  // errno set when it cannot be reached.
  std::shared_ptr<SheepClient> get(const NodeId& nid);
  // Drops a connection and fails what is in flight on it (the peer left).
  void forget(const NodeId& nid);

 private:
  static Endpoint endpoint_of(const NodeId& nid);
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<SheepClient>> conns_;
};

}  // namespace sd
