// The table of cluster drivers `-c` can name.
#include "cluster/driver.h"

namespace sd {

std::unique_ptr<ClusterDriver> make_cluster_driver(const std::string& name,
                                                   const std::string& opts,
                                                   const ClusterKey& key) {
  if (name == "local") return make_local_driver(opts, key);
#ifdef SD_HAVE_COROSYNC
  if (name == "corosync") return make_corosync_driver(key);
#endif
#ifdef SD_HAVE_ZOOKEEPER
  if (name == "zookeeper") return make_zookeeper_driver(opts, key);
#endif
  return nullptr;
}

}  // namespace sd
