// Znode names and the cluster key's ACL for the zookeeper driver (see
// zookeeper_znodes.h).
#include "cluster/zookeeper_znodes.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "base/log.h"

namespace sd {

int64_t znode_seq(const char* name) {
  const char* dash = std::strrchr(name, '-');
  if (!dash || dash == name || dash[-1] == '-') return -1;
  const char* digits = dash + 1;
  size_t n = std::strlen(digits);
  if (n == 0 || n > 18 || !std::all_of(digits, digits + n, [](char c) { return c >= '0' && c <= '9'; }))
    return -1;
  return int64_t(std::strtoll(digits, nullptr, 10));
}

bool valid_participant_id(const std::string& id) {
  if (id.size() < 2 || id.size() > 17 || id[0] != 'z') return false;
  return std::all_of(id.begin() + 1, id.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

ZnodeAcl::ZnodeAcl(const ClusterKey& key) {
  if (key.empty()) return;
  acl_id_ = key.zookeeper_acl_id();
  entry_.perms = ZOO_PERM_ALL;
  entry_.id.scheme = const_cast<char*>("digest");
  entry_.id.id = acl_id_.data();
  acl_.count = 1;
  acl_.data = &entry_;
}

bool ZnodeAcl::guard(zhandle_t* zh, const std::string& p, std::string* why) const {
  if (!keyed()) return true;
  int rc;
  if (carried_by(zh, p, &rc)) return true;
  if (rc != ZOK) {
    *why = "cannot read the ACL of " + p + ": " + zerror(rc);
    return false;
  }
  rc = zoo_set_acl(zh, p.c_str(), -1, &acl_);
  if (rc != ZOK) {
    *why = p + " carries an ACL that is not this cluster key's, and it cannot be changed (" +
           zerror(rc) + "): it belongs to another cluster, or remove it";
    return false;
  }
  sd_warn("%s had an ACL other than the cluster key's: replaced by the key's", p.c_str());
  return true;
}

bool ZnodeAcl::sweep(zhandle_t* zh, const std::string& dir, std::string* why) const {
  if (!keyed()) return true;
  String_vector names{};
  int rc = zoo_get_children(zh, dir.c_str(), 0, &names);
  if (rc != ZOK) {
    *why = "cannot read " + dir + ": " + zerror(rc) +
           (rc == ZNOAUTH ? " (it belongs to a cluster with another key, or none)" : "");
    return false;
  }
  size_t removed = 0;
  for (int i = 0; i < names.count && rc == ZOK; i++) {
    std::string path = dir + "/" + names.data[i];
    if (carried_by(zh, path, &rc) || rc == ZNONODE) {
      rc = ZOK;
      continue;
    }
    if (rc != ZOK) break;
    rc = zoo_delete(zh, path.c_str(), -1);
    if (rc == ZOK || rc == ZNONODE) {
      removed++;
      rc = ZOK;
    }
  }
  deallocate_String_vector(&names);
  if (rc != ZOK) {
    *why = "cannot clean " + dir + ": " + zerror(rc);
    return false;
  }
  if (removed)
    sd_warn("deleted %zu znodes under %s that did not carry the cluster key's ACL", removed,
            dir.c_str());
  return true;
}

bool ZnodeAcl::carried_by(zhandle_t* zh, const std::string& path, int* rc) const {
  ACL_vector have{};
  Stat st{};
  *rc = zoo_get_acl(zh, path.c_str(), &have, &st);
  if (*rc != ZOK) return false;
  bool ours = have.count == 1 && have.data[0].perms == ZOO_PERM_ALL &&
              std::strcmp(have.data[0].id.scheme, "digest") == 0 &&
              acl_id_ == have.data[0].id.id;
  deallocate_ACL_vector(&have);
  return ours;
}

}  // namespace sd
