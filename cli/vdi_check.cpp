// dog vdi check: compare and repair the replicas of every object of a VDI
// (docs/PROTOCOL.md §11.4), or with -e only check that every replica exists.
//
// The objects are the inode and every allocated data object. Their
// replica nodes are computed here with the vnode ring from the bootstrap's
// node list, with min(copies, zones) replicas. Each replica node is asked
// for its copy's SHA-1 (GET_HASH); a Boyer-Moore vote picks the majority
// digest, and every node whose copy is missing or differs is told to fetch
// the object from a good node (REPAIR_REPLICA). -e sends each node the
// list of oids it should hold (OIDS_EXIST) and reports the missing ones.
//
// Of an erasure-coded VDI's data objects, every strip is read from its
// owner (READ_PEER with its ec_index) and the parity is recomputed from the
// data strips: a missing strip, or the one strip that disagrees with the
// rest, is rebuilt by its owner from the others (REPAIR_REPLICA).
//
// On a terminal the check (not -e) shows a progress bar on stderr
// (progress.h), measured as upstream's: through the VDI's size, a data
// object at index i marking (i + 1) objects done. (Upstream draws it on
// stdout, and only when stdout is a terminal, so captured stdout is the
// same either way.)
#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "client/client_map_io.h"
#include "client/vdi.h"
#include "hyper_map.h"
#include "erasure_code.h"
#include "oid.h"
#include "progress.h"
#include "proto/inode.h"
#include "ring.h"
#include "client/requests.h"
#include "vdi.h"
#include "vdi_inventory.h"

namespace dog {

namespace {

using ull = unsigned long long;

struct Digest {
  uint8_t bytes[20];
  bool operator==(const Digest& o) const { return std::memcmp(bytes, o.bytes, 20) == 0; }
};

enum class Replica { Present, Missing, Unknown };

// A line on stdout in the middle of the check, off the progress bar's line.
void say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void say(const char* fmt, ...) {
  progress_before_stdout_line();
  va_list ap;
  va_start(ap, fmt);
  std::vprintf(fmt, ap);
  va_end(ap);
}

// GET_HASH of oid on node n at the bootstrap's epoch.
Replica get_hash(const Context& ctx, const sd::SdNode& n, uint64_t oid, Digest* d) {
  sd::SdReq req = sd::request::get_hash(oid, ctx.epoch);
  sd::Endpoint ep = node_endpoint(n);
  auto rsp = request(ep, req, nullptr, nullptr);
  if (!rsp.ok()) return Replica::Unknown;
  sd::Res res = sd::Res(rsp->result);
  if (res == sd::Res::NoObj) return Replica::Missing;
  if (res != sd::Res::Success) {
    err("failed to read %016llx from %s, %s", ull(oid), sd::node_addr_str(n.nid).c_str(),
        sd::strerror(res));
    return Replica::Unknown;
  }
  std::memcpy(d->bytes, rsp->hash.digest, 20);
  return Replica::Present;
}

// REPAIR_REPLICA: node bad fetches oid from node good.
bool repair(const sd::SdNode& bad, const sd::SdNode& good, uint64_t oid) {
  sd::SdReq req = sd::request::repair_replica(oid, good.nid);
  auto rsp = request(node_endpoint(bad), req, nullptr, nullptr);
  if (!rsp.ok()) return false;
  if (sd::Res(rsp->result) != sd::Res::Success) {
    err("failed to repair %016llx on %s, %s", ull(oid), sd::node_addr_str(bad.nid).c_str(),
        sd::strerror(sd::Res(rsp->result)));
    return false;
  }
  return true;
}

void check_object(const Context& ctx, const sd::VnodeRing& ring, uint64_t oid, int copies) {
  sd::Placement p = ring.place(oid, copies);
  std::vector<Replica> state(size_t(p.count));
  std::vector<Digest> digest(size_t(p.count));
  for (int i = 0; i < p.count; i++)
    state[size_t(i)] = get_hash(ctx, ctx.nodes[p.node[i]], oid, &digest[size_t(i)]);

  // Boyer-Moore majority vote over the copies that answered.
  int count = 0, present = 0;
  Digest candidate{};
  for (int i = 0; i < p.count; i++) {
    if (state[size_t(i)] != Replica::Present) continue;
    present++;
    if (count == 0) {
      candidate = digest[size_t(i)];
      count = 1;
    } else {
      count += candidate == digest[size_t(i)] ? 1 : -1;
    }
  }
  if (present == 0) {
    err("no node has %016llx", ull(oid));
    return;
  }
  int votes = 0, good = -1;
  for (int i = 0; i < p.count; i++)
    if (state[size_t(i)] == Replica::Present && digest[size_t(i)] == candidate) {
      votes++;
      if (good < 0) good = i;
    }
  if (votes * 2 <= present) {
    err("no majority of %016llx", ull(oid));
    return;
  }
  const sd::SdNode& source = ctx.nodes[p.node[good]];
  for (int i = 0; i < p.count; i++) {
    const sd::SdNode& n = ctx.nodes[p.node[i]];
    if (state[size_t(i)] == Replica::Missing) {
      if (repair(n, source, oid)) say("fixed missing %016llx\n", ull(oid));
    } else if (state[size_t(i)] == Replica::Present && !(digest[size_t(i)] == candidate)) {
      if (repair(n, source, oid)) say("fixed replica %016llx\n", ull(oid));
    }
  }
}

// The strips of an erasure-coded object agree: the parity recomputed from
// the data strips equals the parity read (absent strips skipped).
bool strips_agree(const sd::ErasureCode& code, const std::vector<std::vector<uint8_t>>& strip,
                  const std::vector<bool>& found, uint32_t strip_len) {
  const int d = code.shape().data, total = code.shape().strips();
  std::vector<const uint8_t*> have(static_cast<size_t>(total), nullptr);
  std::vector<std::vector<uint8_t>> redo(static_cast<size_t>(total), std::vector<uint8_t>(strip_len));
  std::vector<uint8_t*> want(static_cast<size_t>(total), nullptr);
  for (int k = 0; k < total; k++) {
    if (k < d && k < int(found.size()) && found[size_t(k)]) have[size_t(k)] = strip[size_t(k)].data();
    else want[size_t(k)] = redo[size_t(k)].data();
  }
  // The data strips here, and the rest computed from them.
  int data_here = 0;
  for (int k = 0; k < d; k++) data_here += have[size_t(k)] != nullptr;
  if (data_here < d) return false;
  if (!code.reconstruct(have.data(), want.data(), strip_len)) return false;
  for (int k = d; k < int(found.size()); k++)
    if (found[size_t(k)] && redo[size_t(k)] != strip[size_t(k)]) return false;
  return true;
}

void check_ec_object(const Context& ctx, const sd::VnodeRing& ring, uint64_t oid, int copies,
                     const sd::EcShape& shape, uint64_t object_size) {
  sd::Placement p = ring.place(oid, copies);
  const int n = p.count, d = shape.data;
  const uint32_t strip_len = uint32_t(object_size / uint64_t(d));
  std::vector<std::vector<uint8_t>> strip(static_cast<size_t>(n));
  std::vector<bool> found(static_cast<size_t>(n));
  int good = -1;
  std::vector<int> missing;
  int failed_check = -1;  // a strip its owner found bad against its checksums
  for (int k = 0; k < n; k++) {
    const sd::SdNode& node = ctx.nodes[p.node[k]];
    strip[size_t(k)].resize(strip_len);
    sd::SdReq req = sd::request::peer_object(sd::kOpReadPeer, ctx.epoch, oid, strip_len, 0, 0,
                                             uint8_t(k));
    auto rsp = request(node_endpoint(node), req, nullptr, strip[size_t(k)].data());
    sd::Res res = rsp.ok() ? sd::Res(rsp->result) : rsp.code();
    if (res == sd::Res::Success && rsp->data_length == strip_len) {
      found[size_t(k)] = true;
      if (good < 0) good = k;
    } else if (res == sd::Res::NoObj) {
      missing.push_back(k);
    } else if (res == sd::Res::Eio && failed_check < 0) {
      // Our sheep answer EIO for a strip whose bytes fail their block
      // checksums (docs/PROTOCOL.md §9.7): that strip is the wrong one.
      failed_check = k;
    } else {
      err("failed to read %016llx from %s, %s", ull(oid), sd::node_addr_str(node.nid).c_str(),
          sd::strerror(res == sd::Res::Success ? sd::Res::Eio : res));
      return;
    }
  }
  if (int(missing.size()) > shape.parity) {
    err("failed to rebuild object %016llx. %d copies get lost, more than %d", ull(oid),
        int(missing.size()), shape.parity);
    return;
  }
  const sd::ErasureCode& code = sd::ErasureCode::of(shape);
  if (failed_check >= 0) {
    err("object %016llx is inconsistent", ull(oid));
    if (good >= 0 && repair(ctx.nodes[p.node[failed_check]], ctx.nodes[p.node[good]], oid))
      say("fixed replica %016llx, copy index %d\n", ull(oid), failed_check);
    return;
  }
  if (missing.empty() && !strips_agree(code, strip, found, strip_len)) {
    err("object %016llx is inconsistent", ull(oid));
    // With one parity strip a wrong strip shows, but not which one it is.
    if (shape.parity < 2 || n < d + 2) return;
    // One strip wrong: the only one whose absence makes the rest agree.
    for (int j = 0; j < n; j++) {
      std::vector<bool> without = found;
      without[size_t(j)] = false;
      std::vector<std::vector<uint8_t>> rebuilt = strip;
      // Rebuild strip j (and any data strip) from the others.
      std::vector<const uint8_t*> have(size_t(shape.strips()), nullptr);
      std::vector<uint8_t*> want(size_t(shape.strips()), nullptr);
      for (int k = 0; k < n; k++) {
        if (k == j) want[size_t(k)] = rebuilt[size_t(k)].data();
        else have[size_t(k)] = strip[size_t(k)].data();
      }
      if (!code.reconstruct(have.data(), want.data(), strip_len)) continue;
      std::vector<bool> all(static_cast<size_t>(n), true);
      if (!strips_agree(code, rebuilt, all, strip_len)) continue;
      const sd::SdNode& bad = ctx.nodes[p.node[j]];
      if (repair(bad, ctx.nodes[p.node[j == 0 ? 1 : 0]], oid))
        say("fixed replica %016llx, copy index %d\n", ull(oid), j);
      return;
    }
    return;
  }
  for (int k : missing)
    if (repair(ctx.nodes[p.node[k]], ctx.nodes[p.node[good]], oid))
      say("fixed missing %016llx, copy index %d\n", ull(oid), k);
}

// -e: one OIDS_EXIST per node with the oids it should hold.
int check_exist(const Context& ctx, const std::string& name, const sd::VnodeRing& ring,
                const std::vector<uint64_t>& oids, int copies) {
  std::vector<std::vector<uint64_t>> expected(ctx.nodes.size());
  for (uint64_t oid : oids) {
    sd::Placement p = ring.place(oid, copies);
    for (int i = 0; i < p.count; i++) expected[p.node[i]].push_back(oid);
  }
  int lost = 0;
  for (size_t n = 0; n < ctx.nodes.size(); n++) {
    const auto& list = expected[n];
    if (list.empty()) continue;
    sd::SheepClient* c = client_for(node_endpoint(ctx.nodes[n]));
    if (!c) continue;
    uint32_t len = uint32_t(list.size() * sizeof(uint64_t));
    std::vector<uint64_t> missing(list.size());
    sd::SdReq req = sd::request::oids_exist(uint32_t(list.size()));
    auto rsp = c->call(req, list.data(), missing.data(), len);
    if (!rsp.ok()) {
      err("failed to communicate with %s", sd::node_addr_str(ctx.nodes[n].nid).c_str());
      continue;
    }
    sd::Res res = sd::Res(rsp->result);
    if (res == sd::Res::Success) continue;
    if (res != sd::Res::NoObj) {
      err("Response's result: %s", sd::strerror(res));
      continue;
    }
    size_t nr = rsp->data_length / sizeof(uint64_t);
    for (size_t i = 0; i < nr; i++) {
      std::printf("[%s] oid %016llx is missing.\n", sd::node_addr_str(ctx.nodes[n].nid).c_str(),
                  ull(missing[i]));
      lost++;
    }
  }
  if (lost == 0) {
    std::printf("%s is fine, no object is missing.\n", name.c_str());
    return kExitSuccess;
  }
  std::printf("%s lost %d object(s).\n", name.c_str(), lost);
  return kExitFailure;
}

}  // namespace

int check_vdi(Context& ctx, const std::string& name, uint32_t vid, bool exist_only) {
  sd::SheepClient* c = client_for(ctx.ep);
  if (!c) return kExitSysfail;
  auto h = sd::read_inode_header(*c, vid);
  if (!h.ok()) {
    err("Failed to read an inode of %s: %s", name.c_str(), sd::strerror(shown_res(h.code())));
    return kExitFailure;
  }
  std::vector<uint64_t> oids{sd::vid_to_vdi_oid(vid)};
  if (h->store_policy == 1) {  // a hyper volume's leaves, checked as the inode is
    sd::ClientMapIo io(*c, h->nr_copies);
    sd::HyperMap tree(io, vid, 1);
    if (tree.load().ok())
      for (uint64_t leaf : tree.leaf_oids()) oids.push_back(leaf);
  }
  sd::Status st = for_each_allocated(*c, vid, *h, [&](uint64_t idx, uint32_t owner) {
    oids.push_back(sd::vid_to_data_oid(owner, idx));
  });
  if (!st.ok()) {
    err("Failed to read an inode of %s: %s", name.c_str(), sd::strerror(shown_res(st.code())));
    return kExitFailure;
  }
  sd::VnodeRing ring(ctx.nodes);
  int copies = std::min<int>(h->nr_copies, ring.nr_zones());
  if (exist_only) return check_exist(ctx, name, ring, oids, copies);
  auto shape = sd::ec_shape_of(h->copy_policy);
  if (shape && ring.nr_zones() < int(h->nr_copies)) {
    err("ABORT: Not enough active zones for consistency-checking erasure coded VDI");
    return kExitFailure;
  }
  // A data object is placed and coded as the VDI that owns it (a clone's
  // blocks may still be its parent's, which may have another shape).
  struct Layout {
    int copies;
    uint8_t copy_policy;
    uint8_t block_size_shift;
  };
  std::map<uint32_t, Layout> layouts{{vid, {copies, h->copy_policy, h->block_size_shift}}};
  auto layout_of = [&](uint32_t owner) -> const Layout& {
    auto it = layouts.find(owner);
    if (it != layouts.end()) return it->second;
    auto oh = sd::read_inode_header(*c, owner);
    Layout l = layouts.at(vid);
    if (oh.ok())
      l = {std::min<int>(oh->nr_copies, ring.nr_zones()), oh->copy_policy, oh->block_size_shift};
    return layouts.emplace(owner, l).first->second;
  };
  ProgressBar bar(h->vdi_size, ctx.raw);
  bar.update(0);
  const uint64_t osz = vdi_object_size(*h);
  uint64_t done = 0;
  for (uint64_t oid : oids) {
    // The inode stays replicated.
    if (!sd::is_data_obj(oid)) {
      check_object(ctx, ring, oid, copies);
      continue;
    }
    const Layout& l = layout_of(sd::oid_to_vid(oid));
    if (auto owner_shape = sd::ec_shape_of(l.copy_policy))
      check_ec_object(ctx, ring, oid, owner_shape->strips(), *owner_shape,
                      1ull << l.block_size_shift);
    else
      check_object(ctx, ring, oid, l.copies);
    const uint64_t reached = (uint64_t(sd::data_oid_to_idx(oid)) + 1) * osz;
    done = std::max(done, std::min<uint64_t>(h->vdi_size, reached));
    bar.update(done);
  }
  bar.finish();
  std::printf("finish check&repair %s\n", name.c_str());
  return kExitSuccess;
}

int vdi_check(Context& ctx) {
  const std::string& name = ctx.args[0];
  sd::SheepClient* c = client_for(ctx.ep);
  if (!c) {
    report_open_failure(name, sd::Res::Eio);
    return kExitFailure;
  }
  auto vid = open_vdi_id(*c, name, vdi_opts.tag, vdi_opts.snapid);
  if (!vid.ok()) return kExitFailure;
  return check_vdi(ctx, name, *vid, vdi_opts.exist_only);
}

}  // namespace dog
