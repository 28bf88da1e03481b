// The znode-level facts of the zookeeper driver that do not depend on a
// session's state: the names this transport gives things (sequence
// numbers of sequential znodes, participant ids) and the cluster key's
// digest ACL, with the checks that keep znodes without it out of the
// cluster's paths (docs/PROTOCOL.md §8.9).
#pragma once

#define THREADED  // the synchronous API of the multi-threaded client
#include <zookeeper/zookeeper.h>

#include <cstdint>
#include <string>

#include "cluster_key.h"

namespace sd {

// The digits of a sequential znode's name (m-0000000042 → 42); -1 unless
// the name ends in a dash and 1 to 18 decimal digits.
int64_t znode_seq(const char* name);

// A participant id as the transport makes them: "z" and a session id in
// lowercase hex (1 to 16 digits). Anything else in a znode is not ours.
bool valid_participant_id(const std::string& id);

// The ACL every znode of the cluster gets: open without a cluster key, the
// key's `digest` identity with every permission with one. Not copyable
// (the ACL vector points into it).
class ZnodeAcl {
 public:
  explicit ZnodeAcl(const ClusterKey& key);
  ZnodeAcl(const ZnodeAcl&) = delete;
  ZnodeAcl& operator=(const ZnodeAcl&) = delete;

  bool keyed() const { return !acl_id_.empty(); }
  const ACL_vector* vector() const { return keyed() ? &acl_ : &ZOO_OPEN_ACL_UNSAFE; }

  // With a key, `path` must carry the key's ACL and nothing else: one made
  // by someone else (or by sheep without a key) with an open ACL would let
  // anyone delete the empty member directory, or add fake members. Such an
  // ACL is replaced by ours while it still lets us; false with *why when
  // it cannot be.
  bool guard(zhandle_t* zh, const std::string& path, std::string* why) const;

  // With a key, every child of `dir` must carry the key's ACL: one that
  // does not was made while the directory was open (by someone without
  // the key, or sheep without one) and is deleted before it can pose as a
  // member or a cluster message. False with *why when it cannot be read.
  bool sweep(zhandle_t* zh, const std::string& dir, std::string* why) const;

 private:
  // True when `path` carries exactly the key's ACL; *rc is the error of
  // reading it (ZOK when it was read).
  bool carried_by(zhandle_t* zh, const std::string& path, int* rc) const;

  std::string acl_id_;  // "sheepdog:<digest>", empty without a key
  ACL entry_{};
  ACL_vector acl_{};
};

}  // namespace sd
