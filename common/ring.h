// The vnode ring: consistent hashing of object ids onto nodes, with replicas
// in distinct zones (docs/PROTOCOL.md §7). Upstream dog computes the same
// placement from GET_NODE_LIST, so this must match upstream bit for bit.
//
// A VnodeRing is immutable once built; the daemon publishes one per epoch
// and the I/O path reads it without locks.
#pragma once
#include <cstdint>
#include <vector>

#include "proto/node.h"

namespace sd {

inline constexpr int kMaxZones = 31;

// Up to kMaxCopies node indices, in copy order.
struct Placement {
  int count = 0;
  uint16_t node[32] = {};
};

class VnodeRing {
 public:
  // nodes must be in node order with their final nr_vnodes.
  explicit VnodeRing(std::vector<SdNode> nodes);

  const std::vector<SdNode>& nodes() const { return nodes_; }
  int nr_zones() const { return nr_zones_; }
  size_t nr_vnodes() const { return vnodes_.size(); }

  // The owners of oid: min(copies, nr_zones) nodes in distinct zones.
  Placement place(uint64_t oid, int copies) const;
  // The same for an object whose id hashes to `hash` (sd_hash_oid).
  Placement place_hash(uint64_t hash, int copies) const;
  // Every vnode's position on the ring, ascending. Placement is constant
  // between two consecutive positions: every object whose hash lies in
  // (p[i-1], p[i]] (or past the last one, or up to the first) is placed
  // as place_hash(p[i]) (p[0] for the wrap-around).
  std::vector<uint64_t> vnode_positions() const;
  // Index of the node with this id in nodes(), -1 if it is not there.
  int find(const NodeId& nid) const;
  // True when the node at `index` is one of oid's owners.
  bool holds(uint64_t oid, int copies, int index) const;
  // The node's position among oid's owners (the strip index it holds of
  // an erasure-coded object), -1 when it is not one.
  int position(uint64_t oid, int copies, int index) const;
  // holds() for a piece: any position for a whole copy (piece < 0), that
  // very position for strip `piece`.
  bool holds_piece(uint64_t oid, int copies, int index, int piece) const;

 private:
  struct Vnode {
    uint64_t hash;
    uint16_t node;
  };
  std::vector<SdNode> nodes_;
  std::vector<Vnode> vnodes_;
  int nr_zones_ = 0;
};

// Auto-vnode mode: nr_vnodes = round_half_even(128 * space / avg_space) in
// single precision; gateways (space 0) get 0.
void assign_auto_vnodes(std::vector<SdNode>& nodes);

// Number of distinct zones among nodes with vnodes, capped at kMaxZones.
int count_zones(const std::vector<SdNode>& nodes);

// Sorts nodes into node order (address, then port).
void sort_nodes(std::vector<SdNode>& nodes);

}  // namespace sd
