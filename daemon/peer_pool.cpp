// Connections to peer sheep.
#include "peer_pool.h"

#include <cerrno>
#include <vector>

namespace sd {

Endpoint PeerPool::endpoint_of(const NodeId& nid) {
  Endpoint ep;
  if (nid.io_port) {
    ep.host = addr_str(nid.io_addr);
    ep.port = nid.io_port;
  } else {
    ep.host = addr_str(nid.addr);
    ep.port = nid.port;
  }
  return ep;
}

std::shared_ptr<SheepClient> PeerPool::get(const NodeId& nid) {
  Endpoint ep = endpoint_of(nid);
  std::string key = ep.str();
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (shut_) {
      errno = ESHUTDOWN;
      return nullptr;
    }
    auto it = conns_.find(key);
    if (it != conns_.end()) return it->second;
  }
  std::shared_ptr<SheepClient> c = SheepClient::connect(ep);
  if (!c) return nullptr;
  c->set_call_timeout(timeout_);
  std::lock_guard<std::mutex> lk(mu_);
  if (shut_) {
    errno = ESHUTDOWN;
    return nullptr;
  }
  auto [it, inserted] = conns_.emplace(key, c);
  return it->second;
}

void PeerPool::forget(const NodeId& nid) {
  std::shared_ptr<SheepClient> c;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = conns_.find(endpoint_of(nid).str());
    if (it == conns_.end()) return;
    c = it->second;
    conns_.erase(it);
  }
  c->abort();  // requests stuck on a vanished peer fail now and are retried
}

void PeerPool::shutdown() {
  std::vector<std::shared_ptr<SheepClient>> all;
  {
    std::lock_guard<std::mutex> lk(mu_);
    shut_ = true;
    for (auto& [key, c] : conns_) all.push_back(c);
    conns_.clear();
  }
  for (auto& c : all) c->abort(true);
}

}  // namespace sd
