// Recovery completeness: when a pass may list only the members a ring
// change touched ("narrowed"). That takes proof that the previous epoch
// was recovered completely everywhere, and these tests check that every
// way of losing that proof withdraws it.
//
// Group (RECOVERY_DONE reports, a cluster of Groups driven by the test:
// group_rig.h):
//  - every member's complete report makes an epoch complete; a later
//    incomplete report (4 bytes, or 5 with 0) from any member withdraws it;
//  - a member missing keeps it incomplete; a 4-byte report counts as a
//    report, but an incomplete one;
//  - ALTER_CLUSTER_COPY and ALTER_VDI_COPY on a recovered cluster withdraw
//    it (until every member reports again);
//  - a re-format forgets the old history's reports (complete or not), and
//    epoch 1 of the new one is complete; so does a first join that adopts
//    a formatted cluster;
//  - a report for an epoch more than 64 ahead is not kept.
// EpochRecovery (the real class, with a fake RecoveryCluster that records
// reports and answers "recovered completely" with yes, and ListingPeers for
// the other members, which answer GET_OBJ_LIST / GET_STALE_LIST / READ_PEER
// and can hold a list request until the test releases it):
//  - after a lost disk (recheck), a re-pass superseded by a newer epoch, or
//    a re-pass that was incomplete, leaves the next epoch's pass listing
//    every member;
//  - an object listed that no peer can give makes the report incomplete;
//  - store_reset at the epoch of a running pass ends it: no fetch, no report.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "daemon_rig.h"
#include "group/group.h"
#include "group_rig.h"
#include "recovery/epoch_recovery.h"
#include "recovery/recovery_scope.h"

using namespace sdtest;

namespace {

constexpr auto kDeadline = std::chrono::seconds(20);

// Group's message type of RECOVERY_DONE (private to Group: kMakeFs = 1,
// ..., kBarrier = 6, kRecoveryDone = 7). The tests below that expect a
// raw report to count would fail if this were wrong.
constexpr uint32_t kRecoveryDoneType = 7;

// A RECOVERY_DONE from `from`, as the cluster would deliver it to every
// `to`: the epoch, then the complete byte unless `four_bytes`.
void raw_report(const std::vector<GroupNode*>& to, const GroupNode& from, uint32_t epoch,
                bool four_bytes, uint8_t complete_byte = 0) {
  std::vector<char> msg(8 + 4 + (four_bytes ? 0 : 1));
  uint32_t header[2] = {kRecoveryDoneType, 0};  // seq 0: nobody waits for it
  std::memcpy(msg.data(), header, 8);
  std::memcpy(msg.data() + 8, &epoch, 4);
  if (!four_bytes) msg[12] = char(complete_byte);
  for (auto* m : to) m->group->on_message(from.self, msg);
}

void report(GroupNode& n, uint32_t epoch, bool complete) {
  REQUIRE(n.group->recovery_done(epoch, complete) == sd::Res::Success);
}

// a, b formatted at epoch 1, then d joins: epoch 2 of a, b, d.
struct AtTwo : FormattedWithNewcomer {
  AtTwo() {
    c.join(d);
    REQUIRE(a.epoch() == 2);
  }
};

// Epoch 2 of a, b, d, which every member reports recovered completely.
struct RecoveredAtTwo : AtTwo {
  RecoveredAtTwo() {
    for (auto* n : {&a, &b, &d}) report(*n, 2, true);
    REQUIRE(c.complete(2) == c.all(true));
  }
};

}  // namespace

TEST_CASE("recovery completeness: a later incomplete report withdraws a complete epoch") {
  RecoveredAtTwo r;
  SUBCASE("a 4-byte report") { raw_report(r.c.members, r.b, 2, true); }
  SUBCASE("a 5-byte report with 0") { report(r.b, 2, false); }
  SUBCASE("a raw 5-byte report with 0") { raw_report(r.c.members, r.d, 2, false, 0); }
  CHECK(r.c.complete(2) == r.c.all(false));
}

TEST_CASE_FIXTURE(AtTwo, "recovery completeness: one member's report missing, or a 4-byte "
                         "one, is not complete") {
  // Raw complete reports count (the message type above is right).
  raw_report(c.members, a, 2, false, 1);
  report(b, 2, true);
  CHECK(c.complete(2) == c.all(false));  // d has not reported
  for (auto* n : c.members) CHECK_FALSE(n->group->cluster_recovered());
  raw_report(c.members, d, 2, true);  // the old 4-byte form: no complete byte
  // Every member has recovered epoch 2 (d's report counts as one)...
  for (auto* n : c.members) CHECK(n->group->cluster_recovered());
  // ... but not completely.
  CHECK(c.complete(2) == c.all(false));
}

TEST_CASE("recovery completeness: a change of copies on a recovered cluster withdraws it") {
  RecoveredAtTwo r;
  SUBCASE("ALTER_CLUSTER_COPY") {
    REQUIRE(r.a.group->alter_cluster_copy(3) == sd::Res::Success);
  }
  SUBCASE("ALTER_VDI_COPY") {
    sd::VdiAddedMsg m{5, 0, 0, 2, 0, 22, 0};
    REQUIRE(r.a.group->vdi_added(m) == sd::Res::Success);
    REQUIRE(r.b.group->alter_vdi_copy(5, 3) == sd::Res::Success);
  }
  CHECK(r.c.complete(2) == r.c.all(false));
  // Until every member has run the pass again and found everything.
  report(r.a, 2, true);
  report(r.b, 2, true);
  CHECK(r.c.complete(2) == r.c.all(false));
  report(r.d, 2, true);
  CHECK(r.c.complete(2) == r.c.all(true));
}

TEST_CASE_FIXTURE(AtTwo, "recovery completeness: a re-format forgets the old history's reports") {
  bool old_complete = true;
  SUBCASE("an old complete report does not count") { old_complete = true; }
  SUBCASE("an old incomplete report does not spoil") { old_complete = false; }
  report(b, 2, old_complete);  // epoch 2 of the old history (a and d never report)
  REQUIRE(a.group->make_fs(format_settings(43)) == sd::Res::Success);
  REQUIRE(a.epoch() == 1);
  CHECK(c.complete(1) == c.all(true));  // an empty store has nothing to recover
  c.leave(d);  // epoch 2 of the new history: a and b
  REQUIRE(a.epoch() == 2);
  report(a, 2, true);
  CHECK(c.complete(2) == c.all(false));  // b has not reported in this history
  report(b, 2, true);
  CHECK(c.complete(2) == c.all(true));
}

TEST_CASE("recovery completeness: a node adopting a formatted cluster forgets reports it kept") {
  TempDir t;
  // Two fresh nodes wait for a format; one tells the other it recovered
  // an epoch 2 (of no history they share with the cluster to come).
  GroupCluster c;
  GroupNode f(t.path + "/f", 7005), g(t.path + "/g", 7006);
  c.join(f);
  c.join(g);
  raw_report(c.members, g, 2, false, 1);
  GroupNode a(t.path + "/a", 7000);
  {
    GroupCluster alone;
    alone.join(a);
    REQUIRE(a.group->make_fs(format_settings(42)) == sd::Res::Success);
  }
  c.join(a);  // f and g adopt a's cluster: epoch 2 of a, f, g
  REQUIRE(f.group->settings().ctime == 42);
  REQUIRE(f.epoch() == 2);
  report(a, 2, true);
  report(f, 2, true);
  CHECK(c.complete(2) == c.all(false));  // g has not reported in this cluster
  report(g, 2, true);
  CHECK(c.complete(2) == c.all(true));
}

TEST_CASE_FIXTURE(FormattedPair,
                  "recovery completeness: a report for an epoch more than 64 ahead is not kept") {
  REQUIRE(a.epoch() == 1);
  // At epoch 1, both members "report" epoch 66 complete.
  raw_report(c.members, a, 66, false, 1);
  raw_report(c.members, b, 66, false, 1);
  // 65 node updates: one epoch each, to 66.
  std::vector<sd::Group::NodeUpdate> updates;
  for (int i = 0; i < 65; i++) {
    sd::Group::NodeUpdate u{};
    u.nid = a.self.nid;
    u.space = (uint64_t(1) << 30) + uint64_t(i);
    u.nr_vnodes = 128;
    updates.push_back(u);
  }
  REQUIRE(a.group->update_nodes(updates) == sd::Res::Success);
  REQUIRE(a.epoch() == 66);
  REQUIRE(b.epoch() == 66);
  CHECK(c.complete(66) == c.all(false));
  report(b, 66, true);
  CHECK(c.complete(66) == c.all(false));  // a's report from epoch 1 was not kept
  report(a, 66, true);
  CHECK(c.complete(66) == c.all(true));
}

// ---- EpochRecovery ----------------------------------------------------------

namespace {

// Another member for recovery: lists the objects it is told to (whether or
// not it holds them), serves the ones it holds to recovery reads, and logs
// the opcodes it receives. A gate holds its next GET_OBJ_LIST until opened.
class ListingPeer {
 public:
  ListingPeer(uint32_t zone, uint16_t vnodes)
      : zone_(zone), vnodes_(vnodes), server_([this](int fd) { serve(fd); }) {}
  ~ListingPeer() { open_gate(); }

  sd::SdNode node() const {
    sd::SdNode n = node_at(server_.port(), zone_);
    n.nr_vnodes = vnodes_;
    return n;
  }
  uint16_t port() const { return server_.port(); }
  // Listed and held (recovery reads get it).
  void hold(uint64_t oid) {
    std::lock_guard<std::mutex> lk(mu_);
    listed_.insert(oid);
    held_.insert(oid);
  }
  // Listed, but no read ever gets it.
  void list_only(uint64_t oid) {
    std::lock_guard<std::mutex> lk(mu_);
    listed_.insert(oid);
  }
  // The next GET_OBJ_LIST is answered with an error.
  void fail_next_list() {
    std::lock_guard<std::mutex> lk(mu_);
    fail_list_ = true;
  }
  void close_gate() {
    std::lock_guard<std::mutex> lk(mu_);
    gate_closed_ = true;
  }
  void open_gate() {
    std::lock_guard<std::mutex> lk(mu_);
    gate_closed_ = false;
    cv_.notify_all();
  }
  // True once a GET_OBJ_LIST waits at the closed gate.
  bool wait_at_gate() {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, kDeadline, [&] { return at_gate_; });
  }
  size_t count(uint8_t opcode) {
    std::lock_guard<std::mutex> lk(mu_);
    return size_t(std::count(log_.begin(), log_.end(), opcode));
  }

 private:
  void serve(int fd) {
    sd::SdReq req;
    std::vector<char> payload;
    while (recv_req(fd, &req, &payload)) {
      std::unique_lock<std::mutex> lk(mu_);
      log_.push_back(req.opcode);
      switch (req.opcode) {
        case sd::kOpGetObjList: {
          if (gate_closed_) {
            at_gate_ = true;
            cv_.notify_all();
            cv_.wait(lk, [&] { return !gate_closed_; });
            at_gate_ = false;
          }
          if (fail_list_) {
            fail_list_ = false;
            lk.unlock();
            send_rsp(fd, req, sd::Res::Eio);
            break;
          }
          std::vector<uint64_t> oids(listed_.begin(), listed_.end());
          lk.unlock();
          send_rsp(fd, req, sd::Res::Success, oids.data(), uint32_t(oids.size() * 8));
          break;
        }
        case sd::kOpGetStaleList:
          lk.unlock();
          send_rsp(fd, req, sd::Res::Success);
          break;
        case sd::kOpReadPeer: {
          bool found = held_.count(req.obj.oid) != 0;
          lk.unlock();
          if (!found) {
            send_rsp(fd, req, sd::Res::NoObj);
            break;
          }
          std::vector<char> out(req.data_length, 'x');
          sd::SdRsp rsp{};
          rsp.obj.copy_epoch = req.epoch;
          send_rsp(fd, req, sd::Res::Success, out.data(), uint32_t(out.size()), rsp);
          break;
        }
        default:
          lk.unlock();
          send_rsp(fd, req, sd::Res::InvalidParms);
      }
    }
  }

  uint32_t zone_;
  uint16_t vnodes_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<uint64_t> listed_, held_;
  std::vector<uint8_t> log_;
  bool fail_list_ = false;
  bool gate_closed_ = false;
  bool at_gate_ = false;
  FakeServer server_;  // last: it serves from the members above
};

// The cluster as recovery sees it: running, recovery on, every epoch
// recovered completely by every member (the most narrowing allows); the
// reports are recorded.
struct FakeRecoveryCluster : sd::RecoveryCluster {
  bool running() const override { return true; }
  bool recovery_disabled() const override { return false; }
  sd::Res report_recovered(uint32_t epoch, bool complete) override {
    std::lock_guard<std::mutex> lk(mu);
    reports.push_back({epoch, complete});
    cv.notify_all();
    return sd::Res::Success;
  }
  bool recovered_completely(uint32_t) const override { return true; }
  // The report of pass number n (1: the first), once it is made.
  std::pair<uint32_t, bool> nth_report(size_t n) {
    std::unique_lock<std::mutex> lk(mu);
    if (!cv.wait_for(lk, kDeadline, [&] { return reports.size() >= n; })) return {0, false};
    return reports[n - 1];
  }
  size_t count() {
    std::lock_guard<std::mutex> lk(mu);
    return reports.size();
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<uint32_t, bool>> reports;
};

constexpr uint16_t kFewVnodes = 4;  // so that one leave touches only some members

struct RecoveryRig {
  DaemonRig rig;
  std::vector<std::unique_ptr<ListingPeer>> peers;
  FakeRecoveryCluster cluster;
  sd::EpochRecovery er{rig.store, rig.peers, rig.rings,   rig.audit,
                       rig.recovery, rig.members, cluster, rig.policy};

  explicit RecoveryRig(int n) {
    rig.self.nr_vnodes = kFewVnodes;
    for (int i = 0; i < n; i++)
      peers.push_back(std::make_unique<ListingPeer>(uint32_t(i + 1), kFewVnodes));
  }
  ~RecoveryRig() {
    for (auto& p : peers) p->open_gate();
    rig.peers.shutdown();  // nothing may wait on a peer any more
    er.stop();
  }
  std::vector<sd::SdNode> nodes_without(const std::set<uint16_t>& gone) const {
    std::vector<sd::SdNode> out;
    for (auto& p : peers)
      if (!gone.count(p->port())) out.push_back(p->node());
    return out;
  }
  // Ports of the other members of a node list (self and any others sorted).
  std::set<uint16_t> others(const std::vector<sd::SdNode>& nodes) const {
    std::set<uint16_t> out;
    for (const auto& n : nodes)
      if (!sd::same_node(n, rig.self)) out.insert(n.nid.port);
    return out;
  }
  // The other members of `nodes` but the one at `port`.
  std::vector<sd::SdNode> others_without(const std::vector<sd::SdNode>& nodes, uint16_t port) {
    std::vector<sd::SdNode> out;
    for (const auto& n : nodes)
      if (n.nid.port != port && !sd::same_node(n, rig.self)) out.push_back(n);
    return out;
  }
  // The members a narrowed pass of `cur` (after `prev`) asks, as ports.
  std::set<uint16_t> narrowed(const std::vector<sd::SdNode>& prev,
                              const std::vector<sd::SdNode>& cur) {
    sd::VnodeRing p(prev), c(cur);
    std::set<uint16_t> out;
    for (int i : sd::members_to_list(p, c, c.find(rig.self.nid), rig.policy.kinds_in_use()))
      out.insert(cur[size_t(i)].nid.port);
    return out;
  }
  // A member of `nodes` (sorted, with self) whose leaving lets a narrowed
  // pass ask fewer than all the others.
  uint16_t narrowing_leaver(const std::vector<sd::SdNode>& nodes) {
    for (const auto& n : nodes) {
      if (sd::same_node(n, rig.self)) continue;
      std::vector<sd::SdNode> after;
      for (const auto& m : nodes)
        if (!sd::same_node(m, n)) after.push_back(m);
      if (narrowed(nodes, after).size() < others(after).size()) return n.nid.port;
    }
    FAIL("no member whose leaving narrows the list");
    return 0;
  }
  std::map<uint16_t, size_t> list_counts() {
    std::map<uint16_t, size_t> out;
    for (auto& p : peers) out[p->port()] = p->count(sd::kOpGetObjList);
    return out;
  }
  // The members asked for their list since `before`.
  std::set<uint16_t> listed_since(const std::map<uint16_t, size_t>& before) {
    std::set<uint16_t> out;
    for (auto& [port, n] : list_counts())
      if (n > before.at(port)) out.insert(port);
    return out;
  }
  ListingPeer& peer(uint16_t port) {
    for (auto& p : peers)
      if (p->port() == port) return *p;
    FAIL("no such peer");
    return *peers.front();
  }
  bool wait_idle() {
    auto until = std::chrono::steady_clock::now() + kDeadline;
    while (er.state().in_recovery) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }
};

// Epoch 1 of self and `n` peers, recovered (as a format leaves it: the
// store reset at 1), then epoch 2 without a member whose leaving narrows;
// the pass of 2 runs narrowed and complete. Returns epoch 2's nodes.
std::vector<sd::SdNode> recovered_narrowed_at_two(RecoveryRig& r) {
  auto e1 = r.rig.epoch(1, r.nodes_without({}), true, false);
  uint16_t gone = r.narrowing_leaver(e1);
  auto e2 = r.rig.epoch(2, r.nodes_without({gone}), true, true);
  r.er.store_reset(1);
  r.er.start();
  auto before = r.list_counts();
  r.er.epoch_changed(2);
  REQUIRE(r.cluster.nth_report(1) == std::make_pair(2u, true));
  // The rig narrows when the proof is there.
  REQUIRE(r.listed_since(before) == r.narrowed(e1, e2));
  REQUIRE(r.listed_since(before).size() < r.others(e2).size());
  return e2;
}

}  // namespace

TEST_CASE("recovery completeness: after a lost disk, a re-pass superseded by a new epoch "
          "leaves the next pass listing every member") {
  RecoveryRig r(8);
  auto e2 = recovered_narrowed_at_two(r);
  // The disk is lost: the pass of 2 again, listing everyone. It is held at
  // its last list while epoch 3 comes.
  uint16_t last = *r.others(e2).rbegin();
  r.peer(last).close_gate();
  auto before = r.list_counts();
  r.er.recheck();
  REQUIRE(r.peer(last).wait_at_gate());
  CHECK(r.listed_since(before) == r.others(e2));  // the re-pass is a full one
  auto e3 = r.rig.epoch(3, r.others_without(e2, r.narrowing_leaver(e2)), true, true);
  REQUIRE(r.narrowed(e2, e3).size() < r.others(e3).size());
  r.er.epoch_changed(3);
  before = r.list_counts();
  r.peer(last).open_gate();
  // The superseded re-pass reports nothing; the pass of 3 asks everyone,
  // though the cluster says epoch 2 was recovered completely.
  CHECK(r.cluster.nth_report(2) == std::make_pair(3u, true));
  CHECK(r.listed_since(before) == r.others(e3));
}

TEST_CASE("recovery completeness: after a lost disk, an incomplete re-pass leaves the next "
          "pass listing every member") {
  RecoveryRig r(8);
  auto e2 = recovered_narrowed_at_two(r);
  // The pass of 2 again; one member cannot list its objects.
  uint16_t failing = *r.others(e2).begin();
  r.peer(failing).fail_next_list();
  auto before = r.list_counts();
  r.er.recheck();
  REQUIRE(r.cluster.nth_report(2) == std::make_pair(2u, false));
  CHECK(r.listed_since(before) == r.others(e2));  // the re-pass is a full one
  auto e3 = r.rig.epoch(3, r.others_without(e2, r.narrowing_leaver(e2)), true, true);
  REQUIRE(r.narrowed(e2, e3).size() < r.others(e3).size());
  before = r.list_counts();
  r.er.epoch_changed(3);
  CHECK(r.cluster.nth_report(3) == std::make_pair(3u, true));
  CHECK(r.listed_since(before) == r.others(e3));
}

TEST_CASE("recovery completeness: an object listed that no peer can give makes the pass "
          "incomplete") {
  RecoveryRig r(1);
  ListingPeer& a = *r.peers[0];
  r.rig.epoch(1, r.nodes_without({}), true, true);
  // Two members, two copies: this node owns every object.
  uint64_t given = sd::vid_to_data_oid(1, 0), lost = sd::vid_to_data_oid(1, 1);
  a.hold(given);
  a.list_only(lost);  // listed (deleted since, or its reads fail): nobody gives it
  r.er.start();
  r.er.epoch_changed(1);
  CHECK(r.cluster.nth_report(1) == std::make_pair(1u, false));
  CHECK(r.rig.store.exists(given));  // the rig fetches what a peer gives
  CHECK_FALSE(r.rig.store.exists(lost));
}

TEST_CASE("recovery completeness: a store reset at the epoch of a running pass ends it") {
  RecoveryRig r(1);
  ListingPeer& a = *r.peers[0];
  r.rig.epoch(1, r.nodes_without({}), true, true);
  uint64_t oid = sd::vid_to_data_oid(1, 0);
  a.hold(oid);  // of the old history
  a.close_gate();
  r.er.start();
  r.er.epoch_changed(1);
  REQUIRE(a.wait_at_gate());
  REQUIRE(r.er.state().in_recovery);
  r.er.store_reset(1);  // the store is emptied for a history starting at 1
  a.open_gate();
  REQUIRE(r.wait_idle());
  // The pass fetched nothing into the new store and reported nothing.
  CHECK(r.cluster.count() == 0);
  CHECK(a.count(sd::kOpReadPeer) == 0);
  CHECK_FALSE(r.rig.store.exists(oid));
}
