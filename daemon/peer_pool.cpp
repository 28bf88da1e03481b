// Connections to peer sheep.
#include "peer_pool.h"

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
    auto it = conns_.find(key);
    if (it != conns_.end()) return it->second;
  }
  std::shared_ptr<SheepClient> c = SheepClient::connect(ep);
  if (!c) return nullptr;
  std::lock_guard<std::mutex> lk(mu_);
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

}  // namespace sd
