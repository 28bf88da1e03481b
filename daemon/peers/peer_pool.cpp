// Connections to peer sheep.
#include "peers/peer_pool.h"

#include <cerrno>
#include <vector>

#include "base/log.h"

namespace sd {

namespace {
// After a failure of a peer's I/O address, its main address is used this long.
constexpr auto kIoRetryAfter = std::chrono::seconds(60);
}  // namespace

Endpoint PeerPool::main_endpoint(const NodeId& nid) {
  Endpoint ep;
  ep.host = addr_str(nid.addr);
  ep.port = nid.port;
  return ep;
}

Endpoint PeerPool::io_endpoint(const NodeId& nid) {
  Endpoint ep;
  ep.host = addr_str(nid.io_addr);
  ep.port = nid.io_port;
  return ep;
}

void PeerPool::drop_locked(Conns::iterator it, const NodeId& nid) {
  const Endpoint& ep = it->second->endpoint();
  if (nid.io_port && ep.port == nid.io_port && ep.host == addr_str(nid.io_addr)) {
    sd_warn("I/O connection to %s failed: fallback to %s", ep.str().c_str(), it->first.c_str());
    io_down_until_[it->first] = Clock::now() + kIoRetryAfter;
  }
  conns_.erase(it);
}

std::shared_ptr<SheepClient> PeerPool::connect(const NodeId& nid) {
  std::string key = main_endpoint(nid).str();
  bool try_io = false;
  if (nid.io_port) {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = io_down_until_.find(key);
    try_io = it == io_down_until_.end() || Clock::now() >= it->second;
  }
  if (try_io) {
    std::shared_ptr<SheepClient> c = SheepClient::connect(io_endpoint(nid));
    if (c) return c;
    int e = errno;
    sd_warn("cannot reach %s for I/O (%s): fallback to %s", io_endpoint(nid).str().c_str(),
            std::strerror(e), key.c_str());
    std::lock_guard<std::mutex> lk(mu_);
    io_down_until_[key] = Clock::now() + kIoRetryAfter;
  }
  return SheepClient::connect(main_endpoint(nid));
}

std::shared_ptr<SheepClient> PeerPool::get(const NodeId& nid) {
  std::string key = main_endpoint(nid).str();
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (shut_) {
      errno = ESHUTDOWN;
      return nullptr;
    }
    auto it = conns_.find(key);
    if (it != conns_.end()) {
      // A failed connection on the I/O address is not reused: connecting
      // again picks the address that works.
      if (!(nid.io_port && it->second->broken())) return it->second;
      drop_locked(it, nid);
    }
  }
  std::shared_ptr<SheepClient> c = connect(nid);
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
    auto it = conns_.find(main_endpoint(nid).str());
    if (it == conns_.end()) return;
    c = it->second;
    drop_locked(it, nid);
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
