// Vnode ring construction and oid placement.
#include "ring.h"

#include <algorithm>
#include <cfenv>
#include <cmath>

#include "hash.h"

namespace sd {

int count_zones(const std::vector<SdNode>& nodes) {
  std::vector<uint32_t> zones;
  for (const auto& n : nodes) {
    if (n.nr_vnodes == 0) continue;
    if (std::find(zones.begin(), zones.end(), n.zone) == zones.end()) zones.push_back(n.zone);
  }
  return std::min<int>(int(zones.size()), kMaxZones);
}

void sort_nodes(std::vector<SdNode>& nodes) {
  std::sort(nodes.begin(), nodes.end(),
            [](const SdNode& a, const SdNode& b) { return compare_nodes(a, b) < 0; });
}

VnodeRing::VnodeRing(std::vector<SdNode> nodes) : nodes_(std::move(nodes)) {
  size_t total = 0;
  for (const SdNode& n : nodes_) total += n.nr_vnodes;
  vnodes_.reserve(total);  // exactly: rings are kept (group/epoch_rings.h counts them)
  for (size_t i = 0; i < nodes_.size(); i++) {
    const SdNode& n = nodes_[i];
    // The base hash covers the 16 address bytes and the 2 port bytes.
    uint64_t h = sd_hash(&n.nid, 18);
    for (int v = 0; v < n.nr_vnodes; v++) {
      h = sd_hash_next(h);
      vnodes_.push_back({h, uint16_t(i)});
    }
  }
  std::sort(vnodes_.begin(), vnodes_.end(),
            [](const Vnode& a, const Vnode& b) { return a.hash < b.hash; });
  nr_zones_ = count_zones(nodes_);
}

Placement VnodeRing::place(uint64_t oid, int copies) const {
  return place_hash(sd_hash_oid(oid), copies);
}

std::vector<uint64_t> VnodeRing::vnode_positions() const {
  std::vector<uint64_t> out;
  out.reserve(vnodes_.size());
  for (const Vnode& v : vnodes_) out.push_back(v.hash);
  return out;
}

Placement VnodeRing::place_hash(uint64_t x, int copies) const {
  Placement p;
  if (vnodes_.empty()) return p;
  // Never more than a Placement holds, whatever a caller asks for.
  int want = std::min({copies, nr_zones_, int(sizeof(p.node) / sizeof(p.node[0]))});
  auto it = std::lower_bound(vnodes_.begin(), vnodes_.end(), x,
                             [](const Vnode& v, uint64_t h) { return v.hash < h; });
  size_t start = it == vnodes_.end() ? 0 : size_t(it - vnodes_.begin());
  uint32_t zones[32];
  for (size_t step = 0; step < vnodes_.size() && p.count < want; step++) {
    const Vnode& v = vnodes_[(start + step) % vnodes_.size()];
    uint32_t zone = nodes_[v.node].zone;
    bool used = false;
    for (int i = 0; i < p.count; i++) used |= zones[i] == zone;
    if (used) continue;
    zones[p.count] = zone;
    p.node[p.count++] = v.node;
  }
  return p;
}

int VnodeRing::find(const NodeId& nid) const {
  for (size_t i = 0; i < nodes_.size(); i++)
    if (same_node_id(nodes_[i].nid, nid)) return int(i);
  return -1;
}

bool VnodeRing::holds(uint64_t oid, int copies, int index) const {
  return position(oid, copies, index) >= 0;
}

int VnodeRing::position(uint64_t oid, int copies, int index) const {
  if (index < 0) return -1;
  Placement p = place(oid, copies);
  for (int i = 0; i < p.count; i++)
    if (p.node[i] == index) return i;
  return -1;
}

bool VnodeRing::holds_piece(uint64_t oid, int copies, int index, int piece) const {
  int pos = position(oid, copies, index);
  return piece < 0 ? pos >= 0 : pos == piece;
}

void assign_auto_vnodes(std::vector<SdNode>& nodes) {
  uint64_t total = 0, count = 0;
  for (const auto& n : nodes) {
    if (n.space) {
      total += n.space;
      count++;
    }
  }
  if (!count) return;
  uint64_t avg = total / count;
  int saved = std::fegetround();
  std::fesetround(FE_TONEAREST);
  for (auto& n : nodes) {
    if (!n.space) {
      n.nr_vnodes = 0;
      continue;
    }
    float factor = float(n.space) / float(avg);
    float v = std::rintf(128.0f * factor);
    n.nr_vnodes = uint16_t(v > 65535.0f ? 65535.0f : v);
  }
  std::fesetround(saved);
}

}  // namespace sd
