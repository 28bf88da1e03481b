// The zookeeper driver's front: its option string
// (`-c zookeeper:HOST:PORT[,HOST:PORT...][/CLUSTER][,timeout=MS]`), the
// probe that tells whether a server answers, and the driver made of the
// membership protocol over the ZooKeeper transport (docs/PROTOCOL.md §8.9).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "cluster/membership_protocol.h"
#include "cluster/zookeeper_transport.h"
#include "cluster/zookeeper_znodes.h"

namespace sd {

bool parse_zookeeper_options(const std::string& text, ZooKeeperOptions* out, std::string* why) {
  ZooKeeperOptions o;
  std::string s = text;
  size_t t = s.find(",timeout=");
  if (t != std::string::npos) {
    std::string v = s.substr(t + 9);
    char* end = nullptr;
    unsigned long ms = std::strtoul(v.c_str(), &end, 10);
    bool digits = !v.empty() && v.size() <= 6 &&
                  std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || *end || ms < 100 || ms > 600000) {
      *why = "Invalid ZooKeeper session timeout '" + v + "': must be milliseconds between 100 and 600000";
      return false;
    }
    o.timeout_ms = uint32_t(ms);
    s = s.substr(0, t);
  }
  size_t slash = s.find('/');
  if (slash != std::string::npos) {
    std::string cluster = s.substr(slash + 1);
    s = s.substr(0, slash);
    if (cluster.empty() || cluster.find('/') != std::string::npos) {
      *why = "Invalid ZooKeeper cluster id '" + cluster + "'";
      return false;
    }
    o.path = "/sheepdog/" + cluster;
  }
  if (s.empty()) {
    *why = "You must specify zookeeper servers.";
    return false;
  }
  o.hosts = s;
  *out = o;
  return true;
}

std::unique_ptr<ClusterDriver> make_zookeeper_driver(const std::string& opts,
                                                     const ClusterKey& key) {
  ZooKeeperOptions o;
  std::string why;
  if (!parse_zookeeper_options(opts, &o, &why)) return nullptr;
  return std::make_unique<MembershipProtocol>(make_zookeeper_transport(o, key),
                                              "zookeeper", key);
}

bool zookeeper_available(const ZooKeeperOptions& o) {
  zoo_set_debug_level(ZooLogLevel(0));
  std::atomic<int> state{0};
  auto watcher = [](zhandle_t*, int type, int st, const char*, void* ctx) {
    if (type == ZOO_SESSION_EVENT) static_cast<std::atomic<int>*>(ctx)->store(st);
  };
  zhandle_t* zh = zookeeper_init(o.hosts.c_str(), watcher, int(o.timeout_ms), nullptr, &state, 0);
  if (!zh) return false;
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(std::max<uint32_t>(o.timeout_ms, 5000));
  while (state != ZOO_CONNECTED_STATE && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  bool ok = state == ZOO_CONNECTED_STATE;
  zookeeper_close(zh);
  return ok;
}

}  // namespace sd
