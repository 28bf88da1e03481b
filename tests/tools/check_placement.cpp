// check-placement: verifies, on a running cluster, that every object is
// stored on exactly the nodes the vnode ring names for it — its copies, in
// distinct zones — and nowhere else.
//
//   check-placement [-a ADDR] [-p PORT] [--allow-extra] [-v]
//
// It asks one sheep for the node list, every sheep for its object list
// (GET_OBJ_LIST), reads each VDI's copy count from its inode, and compares.
// Of an erasure-coded VDI's data objects each owner must hold the strip
// of its position (EXIST answers so only then), and the strips of one
// object must lie in distinct zones like copies.
// Exit 0 when everything is in place; 1 with one line per problem.
#include <getopt.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "client/sheep_client.h"
#include "client/vdi.h"
#include "oid.h"
#include "ring.h"

using namespace sd;

int main(int argc, char** argv) {
  Endpoint ep;
  bool allow_extra = false, verbose = false;
  static option longopts[] = {{"allow-extra", no_argument, nullptr, 'x'}, {nullptr, 0, nullptr, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "a:p:v", longopts, nullptr)) != -1) {
    if (c == 'a') ep.host = optarg;
    else if (c == 'p') ep.port = uint16_t(std::atoi(optarg));
    else if (c == 'x') allow_extra = true;
    else if (c == 'v') verbose = true;
    else return 2;
  }
  auto client = SheepClient::connect(ep);
  if (!client) {
    std::fprintf(stderr, "cannot connect to %s\n", ep.str().c_str());
    return 2;
  }
  std::vector<SdNode> nodes(kMaxNodes);
  SdReq req = make_req(kOpGetNodeList, 0, uint32_t(kMaxNodes * sizeof(SdNode)));
  SdRsp rsp;
  if (!client->exec(req, nullptr, nodes.data(), &rsp).ok()) {
    std::fprintf(stderr, "GET_NODE_LIST failed\n");
    return 2;
  }
  nodes.resize(rsp.node.nr_nodes);
  VnodeRing ring(nodes);

  // Which node holds what.
  std::map<uint64_t, std::set<int>> holders;
  for (size_t i = 0; i < nodes.size(); i++) {
    Endpoint nep;
    nep.host = addr_str(nodes[i].nid.addr);
    nep.port = nodes[i].nid.port;
    auto nc = SheepClient::connect(nep);
    if (!nc) {
      std::fprintf(stderr, "cannot connect to %s\n", nep.str().c_str());
      return 2;
    }
    for (uint32_t len = 1u << 20;; len *= 2) {
      std::vector<uint64_t> oids(len / 8);
      SdReq lr = make_req(kOpGetObjList, 0, len);
      SdRsp lrsp;
      Status st = nc->exec(lr, nullptr, oids.data(), &lrsp);
      if (st.code() == Res::BufferSmall) continue;
      if (!st.ok()) {
        std::fprintf(stderr, "GET_OBJ_LIST on %s failed: %s\n", nep.str().c_str(), strerror(st.code()));
        return 2;
      }
      for (size_t k = 0; k < lrsp.data_length / 8; k++) holders[oids[k]].insert(int(i));
      break;
    }
  }

  std::vector<std::unique_ptr<SheepClient>> conns(nodes.size());
  auto node_client = [&](int n) -> SheepClient* {
    if (!conns[size_t(n)]) {
      Endpoint nep;
      nep.host = addr_str(nodes[size_t(n)].nid.addr);
      nep.port = nodes[size_t(n)].nid.port;
      conns[size_t(n)] = SheepClient::connect(nep);
    }
    return conns[size_t(n)].get();
  };
  std::map<uint32_t, int> copies_of;  // vid -> nr_copies
  std::map<uint32_t, bool> coded;     // vid -> erasure-coded
  int problems = 0;
  size_t checked = 0;
  for (const auto& [oid, have] : holders) {
    uint32_t vid = oid_to_vid(oid);
    if (!copies_of.count(vid)) {
      auto h = read_inode_header(*client, vid);
      copies_of[vid] = h.ok() ? h->nr_copies : kDefaultCopies;
      coded[vid] = h.ok() && h->copy_policy;
    }
    Placement p = ring.place(oid, copies_of[vid]);
    std::set<int> want(p.node, p.node + p.count);
    std::set<uint32_t> zones;
    for (int n : want) zones.insert(nodes[size_t(n)].zone);
    checked++;
    std::string msg;
    for (int n : want)
      if (!have.count(n)) msg += " missing on " + node_addr_str(nodes[size_t(n)].nid);
    if (!allow_extra)
      for (int n : have)
        if (!want.count(n)) msg += " extra copy on " + node_addr_str(nodes[size_t(n)].nid);
    if (zones.size() != want.size()) msg += " owners share a zone";
    if (coded[vid] && is_data_obj(oid)) {
      for (int n : want) {
        if (!have.count(n)) continue;
        SheepClient* nc = node_client(n);
        SdReq er = make_req(kOpExist, 0, 0);
        er.obj.oid = oid;
        if (!nc || !nc->exec(er, nullptr, nullptr).ok())
          msg += " not the strip of its position on " + node_addr_str(nodes[size_t(n)].nid);
      }
    }
    if (!msg.empty()) {
      std::printf("%016" PRIx64 ":%s\n", oid, msg.c_str());
      problems++;
    } else if (verbose) {
      std::printf("%016" PRIx64 ": ok on %d nodes\n", oid, p.count);
    }
  }
  std::printf("%zu objects checked, %d misplaced\n", checked, problems);
  return problems ? 1 : 0;
}
