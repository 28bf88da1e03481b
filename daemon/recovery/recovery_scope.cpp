// The members whose lists can matter after a ring change (see the header).
#include "recovery/recovery_scope.h"

#include <algorithm>
#include <set>

namespace sd {

namespace {

int position_in(const Placement& p, int node) {
  for (int i = 0; i < p.count; i++)
    if (p.node[i] == node) return i;
  return -1;
}

}  // namespace

std::vector<int> members_to_list(const VnodeRing& prev, const VnodeRing& cur, int self,
                                 const std::vector<PlacementKind>& kinds) {
  std::set<int> ask;
  if (self < 0 || size_t(self) >= cur.nodes().size()) return {};
  int self_prev = prev.find(cur.nodes()[size_t(self)].nid);
  // prev's node indices as cur's (-1: gone).
  std::vector<int> to_cur(prev.nodes().size());
  for (size_t i = 0; i < prev.nodes().size(); i++) to_cur[i] = cur.find(prev.nodes()[i].nid);
  // Members that were not in prev.
  for (size_t i = 0; i < cur.nodes().size(); i++)
    if (int(i) != self && prev.find(cur.nodes()[i].nid) < 0) ask.insert(int(i));

  std::vector<uint64_t> points = prev.vnode_positions();
  std::vector<uint64_t> mine = cur.vnode_positions();
  points.insert(points.end(), mine.begin(), mine.end());
  std::sort(points.begin(), points.end());
  points.erase(std::unique(points.begin(), points.end()), points.end());
  for (uint64_t h : points) {
    for (const PlacementKind& k : kinds) {
      Placement now = cur.place_hash(h, k.copies);
      int pos = position_in(now, self);
      if (pos < 0) continue;
      Placement before = prev.place_hash(h, k.copies);
      int pos_before = self_prev < 0 ? -1 : position_in(before, self_prev);
      bool changed = k.positional ? pos_before != pos : pos_before < 0;
      if (!changed) continue;
      for (int i = 0; i < before.count; i++) {
        int n = to_cur[before.node[i]];
        if (n >= 0 && n != self) ask.insert(n);
      }
      for (int i = 0; i < now.count; i++)
        if (now.node[i] != self) ask.insert(now.node[i]);
    }
  }
  return {ask.begin(), ask.end()};
}

}  // namespace sd
