// recovery/recovery_scope.h: the members a node lists after a ring change
// are enough (every holder of every object it newly owns is among them)
// and, after one node leaves a large cluster, few.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "proto/node.h"
#include "recovery/recovery_scope.h"
#include "ring.h"

namespace {

sd::SdNode node_at(uint16_t port, uint32_t zone) {
  sd::SdNode n{};
  REQUIRE(sd::parse_addr("127.0.0.1", n.nid.addr));
  n.nid.port = port;
  n.zone = zone;
  n.nr_vnodes = 128;
  return n;
}

std::vector<sd::SdNode> cluster(int count, uint16_t skip_port = 0) {
  std::vector<sd::SdNode> nodes;
  for (int i = 0; i < count; i++)
    if (uint16_t(7000 + i) != skip_port) nodes.push_back(node_at(uint16_t(7000 + i), uint32_t(i)));
  sd::sort_nodes(nodes);
  return nodes;
}

// For every object whose placement changed around `self` (it owns it now
// and did not, or, positional, not in that position), every other owner
// under either ring that is still a member is in `asked`.
void check_enough(const sd::VnodeRing& prev, const sd::VnodeRing& cur, int self,
                  const sd::PlacementKind& kind, const std::vector<int>& asked) {
  std::set<int> ask(asked.begin(), asked.end());
  int self_prev = prev.find(cur.nodes()[size_t(self)].nid);
  int changed = 0;
  for (uint64_t oid = 1; oid < 20000; oid++) {
    sd::Placement now = cur.place(oid, kind.copies);
    int pos = cur.position(oid, kind.copies, self);
    if (pos < 0) continue;
    int pos_before = self_prev < 0 ? -1 : prev.position(oid, kind.copies, self_prev);
    if (kind.positional ? pos_before == pos : pos_before >= 0) continue;
    changed++;
    sd::Placement before = prev.place(oid, kind.copies);
    for (int i = 0; i < before.count; i++) {
      int n = cur.find(prev.nodes()[before.node[i]].nid);
      if (n >= 0 && n != self) CHECK(ask.count(n) == 1);
    }
    for (int i = 0; i < now.count; i++)
      if (now.node[i] != self) CHECK(ask.count(now.node[i]) == 1);
  }
  (void)changed;
}

}  // namespace

TEST_CASE("recovery scope: nothing changed, nobody to ask") {
  sd::VnodeRing ring(cluster(8));
  for (int self = 0; self < 8; self++)
    CHECK(sd::members_to_list(ring, ring, self, {{3, false}, {6, true}}).empty());
}

TEST_CASE("recovery scope: after a leave, the holders of every newly owned object, and few") {
  sd::VnodeRing prev(cluster(32));
  sd::VnodeRing cur(cluster(32, 7016));
  std::vector<sd::PlacementKind> kinds = {{3, false}};
  size_t total = 0, most = 0;
  for (int self = 0; self < 31; self++) {
    auto asked = sd::members_to_list(prev, cur, self, kinds);
    CHECK(std::find(asked.begin(), asked.end(), self) == asked.end());
    check_enough(prev, cur, self, kinds[0], asked);
    total += asked.size();
    most = std::max(most, asked.size());
  }
  // Every member asking every other would be 31 * 30 = 930 lists.
  CHECK(total < 930 * 3 / 4);
  CHECK(most < 30);
}

TEST_CASE("recovery scope: strips that move position are fetched from their holders") {
  sd::VnodeRing prev(cluster(32));
  sd::VnodeRing cur(cluster(32, 7005));
  sd::PlacementKind coded{4, true};
  for (int self = 0; self < 31; self++)
    check_enough(prev, cur, self, coded, sd::members_to_list(prev, cur, self, {coded}));
  // A node that keeps the whole-copy objects it had still has strips that
  // moved position: a positional kind asks more than a whole-copy one.
  size_t whole = 0, strips = 0;
  for (int self = 0; self < 31; self++) {
    whole += sd::members_to_list(prev, cur, self, {{4, false}}).size();
    strips += sd::members_to_list(prev, cur, self, {coded}).size();
  }
  CHECK(strips > whole);
}

TEST_CASE("recovery scope: a member that joined is asked by everyone") {
  // It may bring back the only copy of an object (it was away).
  sd::VnodeRing prev(cluster(10, 7004));
  sd::VnodeRing cur(cluster(10));
  int joined = cur.find(node_at(7004, 4).nid);
  REQUIRE(joined >= 0);
  for (int self = 0; self < 10; self++) {
    if (self == joined) continue;
    auto asked = sd::members_to_list(prev, cur, self, {{3, false}});
    CHECK(std::find(asked.begin(), asked.end(), joined) != asked.end());
    check_enough(prev, cur, self, {3, false}, asked);
  }
}
