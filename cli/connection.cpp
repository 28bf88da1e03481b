// Connections to sheep and the NEED_NODELIST bootstrap.
//
// dog keeps one connection per node endpoint for the whole run and sends one
// request at a time. A failed connect is reported once per attempt and tried
// twice, which is why upstream prints "failed to connect to ..." twice.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "client/requests.h"
#include "dog.h"
#include "ring.h"

namespace dog {

namespace {

struct CachedClient {
  sd::Endpoint ep;
  std::unique_ptr<sd::SheepClient> client;
};

std::vector<CachedClient>& client_cache() {
  static std::vector<CachedClient> cache;
  return cache;
}

bool same_endpoint(const sd::Endpoint& a, const sd::Endpoint& b) {
  return a.host == b.host && a.port == b.port && a.unix_path == b.unix_path;
}

}  // namespace

// A node's main address: the I/O address of `sheep -i` is for traffic
// between sheep only.
sd::Endpoint node_endpoint(const sd::SdNode& n) {
  sd::Endpoint ep;
  ep.host = sd::addr_str(n.nid.addr);
  ep.port = n.nid.port;
  return ep;
}

sd::SheepClient* client_for(const sd::Endpoint& ep) {
  for (auto& c : client_cache())
    if (same_endpoint(c.ep, ep)) return c.client.get();
  for (int attempt = 0; attempt < 2; attempt++) {
    auto c = sd::SheepClient::connect(ep);
    if (c) {
      client_cache().push_back({ep, std::move(c)});
      return client_cache().back().client.get();
    }
    if (errno == EACCES)
      err("failed to connect to %s:%d: the sheep refused our cluster key, or does not hold it "
          "(--auth-key)", ep.host.c_str(), ep.port);
    else if (errno == EPROTONOSUPPORT)
      err("failed to connect to %s:%d: the sheep does not use a cluster key (drop --auth-key)",
          ep.host.c_str(), ep.port);
    else
      err("failed to connect to %s:%d: %s", ep.host.c_str(), ep.port, std::strerror(errno));
  }
  return nullptr;
}

sd::Result<sd::SdRsp> request(const sd::Endpoint& ep, const sd::SdReq& req, const void* wbuf,
                              void* rbuf) {
  sd::SheepClient* c = client_for(ep);
  if (!c) return sd::err(sd::Res::Eio);
  auto r = c->call(req, wbuf, rbuf);
  if (!r.ok()) {
    err("failed to communicate with %s:%d", ep.host.c_str(), ep.port);
    return sd::err(sd::Res::Eio);
  }
  return r;
}

bool send_light(const sd::Endpoint& ep, const sd::SdReq& req) {
  auto rsp = request(ep, req, nullptr, nullptr);
  if (!rsp.ok()) return false;
  if (sd::Res(rsp->result) != sd::Res::Success) {
    err("Response's result: %s", sd::strerror(sd::Res(rsp->result)));
    return false;
  }
  return true;
}

int fetch_node_list(Context& ctx) {
  std::vector<sd::SdNode> buf(sd::kMaxNodes);
  sd::SdReq req = sd::request::node_list(uint32_t(buf.size()));
  auto rsp = request(ctx.ep, req, nullptr, buf.data());
  if (!rsp.ok()) {
    err("Failed to get node list");
    return kExitSysfail;
  }
  if (sd::Res(rsp->result) != sd::Res::Success) {
    err("Response's result: %s", sd::strerror(sd::Res(rsp->result)));
    err("Failed to get node list");
    return kExitSysfail;
  }
  size_t nr = rsp->node.nr_nodes;
  nr = std::min<size_t>(nr, rsp->data_length / sizeof(sd::SdNode));
  if (nr == 0) {
    err("There are no active sheep daemons");
    return kExitFailure;
  }
  buf.resize(nr);
  for (auto& n : buf) std::memset(n.rb, 0, sizeof(n.rb));
  sd::sort_nodes(buf);
  ctx.nodes = std::move(buf);

  sd::EpochLogHeader log{};
  req = sd::request::stat_cluster(sizeof(log), 0);
  rsp = request(ctx.ep, req, nullptr, &log);
  if (!rsp.ok()) {
    err("Failed to get node list");
    return kExitSysfail;
  }
  ctx.epoch = rsp->epoch;
  if (rsp->data_length >= sizeof(log)) ctx.cluster_flags = log.flags;
  return kExitSuccess;
}

}  // namespace dog
