// ClusterDriver: how sheep learn who is in the cluster and exchange totally
// ordered messages. Consensus is the driver's job (a file log with lock
// liveness for the local driver; corosync's CPG in production); sheep only
// react to what it delivers.
//
// Contract: every member sees the same sequence of events — joins, leaves
// and messages interleaved in one order — and broadcast() messages reach
// every member, the sender included. Members are listed oldest first; the
// oldest member is the master, which alone decides whether a newcomer may
// join (check_join) and whose decision travels with the join event.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "cluster_key.h"
#include "proto/node.h"
#include "result.h"

namespace sd {

class ClusterEvents {
 public:
  virtual ~ClusterEvents() = default;
  // On the master: may `node`, which joined with `info`, become a member?
  // `reply` goes to every member with the join; on a refusal `why` goes
  // to the newcomer.
  virtual bool check_join(const SdNode& node, const std::vector<char>& info,
                          std::vector<char>* reply, std::string* why) = 0;
  // `node` is now a member; `members` (oldest first) includes it. For the
  // first member of an empty cluster `reply` is empty.
  virtual void on_join(const std::vector<SdNode>& members, const SdNode& node,
                       const std::vector<char>& reply) = 0;
  // On the newcomer only: the master said no (or, with a cluster key, the
  // cluster could not authenticate this node).
  virtual void on_join_refused(const std::string& why) = 0;
  virtual void on_leave(const std::vector<SdNode>& members, const SdNode& node) = 0;
  virtual void on_message(const SdNode& sender, const std::vector<char>& msg) = 0;
  // The driver lost its footing for good (e.g. declared gone): stop serving.
  virtual void on_driver_failure(const std::string& why) = 0;
  // This node may be cut off from the majority (quorum lost, corosync
  // gone): stop serving and forget the membership. The driver joins again
  // by itself when it can; on_join then arrives for ourselves once more.
  virtual void on_suspended(const std::string& why) = 0;
  // About every 100 ms, on the driver's thread.
  virtual void on_tick() {}
  // What to present to the master when (re)joining.
  virtual std::vector<char> join_info() = 0;
};

class ClusterDriver {
 public:
  virtual ~ClusterDriver() = default;
  virtual const char* name() const = 0;
  // Asks to join as `self`, presenting events->join_info() to the master.
  virtual Status join(const SdNode& self, ClusterEvents* events) = 0;
  virtual Status broadcast(const std::vector<char>& msg) = 0;
  // Leaves the cluster gracefully; no events are delivered afterwards.
  virtual void leave() = 0;
  // False while the driver cannot vouch that this node is still a member
  // the others see (OrderedTransport::in_contact): no I/O then. Any thread.
  virtual bool in_contact() const { return true; }
  // Until when (steady-clock ms) it vouches so; 0 when it has no bound.
  virtual int64_t contact_until_ms() const { return 0; }
};

// Creates the driver named by `-c NAME[:OPTS]`; nullptr for an unknown name.
// With a non-empty key every record between sheep is authenticated
// (membership_protocol.h).
std::unique_ptr<ClusterDriver> make_cluster_driver(const std::string& name,
                                                   const std::string& opts,
                                                   const ClusterKey& key);
std::unique_ptr<ClusterDriver> make_local_driver(const std::string& opts, const ClusterKey& key);
// The local driver's directory when `-c local` names none: under the
// run-time directory (/run for root, $XDG_RUNTIME_DIR otherwise); empty
// when there is none.
std::string default_local_dir();
// Creates the local driver's directory (0700) or checks that it is this
// user's and writable by nobody else; false with *why otherwise.
bool prepare_local_dir(const std::string& dir, std::string* why);
#ifdef SD_HAVE_ZOOKEEPER
// `-c zookeeper:HOST:PORT[,HOST:PORT...][/CLUSTER][,timeout=MS]`, as
// upstream: the servers, the cluster's znode (/sheepdog, or
// /sheepdog/CLUSTER) and the session timeout (default 3000 ms).
struct ZooKeeperOptions {
  std::string hosts;
  std::string path = "/sheepdog";
  uint32_t timeout_ms = 3000;
};
// False with upstream's message in *why for a malformed option string.
bool parse_zookeeper_options(const std::string& text, ZooKeeperOptions* out, std::string* why);
// nullptr when the options do not parse.
std::unique_ptr<ClusterDriver> make_zookeeper_driver(const std::string& opts,
                                                     const ClusterKey& key);
// True when one of the servers answers (within the session timeout, 5 s at
// least).
bool zookeeper_available(const ZooKeeperOptions& o);
#endif
#ifdef SD_HAVE_COROSYNC
std::unique_ptr<ClusterDriver> make_corosync_driver(const ClusterKey& key);
// True when a corosync with the CPG service answers on this host.
bool corosync_available();
#endif

}  // namespace sd
