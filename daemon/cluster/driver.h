// ClusterDriver: how sheep learn who is in the cluster and exchange totally
// ordered messages. Consensus is the driver's job (corosync in production,
// the local driver on one machine); sheep only react to what it delivers.
//
// Contract: every member sees the same sequence of events (membership
// changes and messages, interleaved in the same order), and broadcast()
// messages are delivered to every member, the sender included.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "proto/node.h"
#include "result.h"

namespace sd {

class ClusterEvents {
 public:
  virtual ~ClusterEvents() = default;
  // The members after a change, in node order; `joined`/`left` name the
  // node that changed (nullptr when not applicable).
  virtual void on_membership(const std::vector<SdNode>& members, const SdNode* joined,
                             const SdNode* left) = 0;
  virtual void on_message(const SdNode& sender, const std::vector<char>& msg) = 0;
};

class ClusterDriver {
 public:
  virtual ~ClusterDriver() = default;
  virtual const char* name() const = 0;
  // Joins the cluster as `self`; events start flowing to `events`.
  virtual Status join(const SdNode& self, ClusterEvents* events) = 0;
  virtual Status broadcast(const std::vector<char>& msg) = 0;
  virtual void leave() = 0;
};

// Creates the driver named by `-c NAME[:OPTS]`; nullptr for an unknown name.
std::unique_ptr<ClusterDriver> make_cluster_driver(const std::string& name,
                                                   const std::string& opts);

}  // namespace sd
