// Scale: the claims of docs/SCALE.md that are cheap enough to check here
// (tests/tools/scale_sim.cpp measures the rest at 1,000 nodes): how
// objects spread over a 1,000-node ring, what a join and a leave cost in
// records as the cluster grows, and how the epoch log grows with changes.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "cluster/membership_protocol.h"
#include "cluster/transport.h"
#include "fake_peers.h"
#include "group/group.h"
#include "oid.h"
#include "peers/peer_pool.h"
#include "ring.h"
#include "store/object_store.h"
#include "store/read_lease.h"
#include "../tools/scale_model.h"

namespace {

using scale_model::numbered_node;
using scale_model::Spread;

// Places `oids` data objects with 3 copies on `nodes` nodes of `vnodes`
// each; how the copies spread over the nodes, relative to the mean.
Spread spread_of(uint32_t nodes, int vnodes, uint64_t oids) {
  std::vector<sd::SdNode> list;
  for (uint32_t i = 1; i <= nodes; i++) list.push_back(numbered_node(i, vnodes));
  sd::sort_nodes(list);
  sd::VnodeRing ring(list);
  REQUIRE(ring.nr_vnodes() == size_t(nodes) * size_t(vnodes));
  std::vector<double> count(nodes, 0);
  uint64_t misplaced = 0;  // not 3 distinct nodes
  for (uint64_t i = 0; i < oids; i++) {
    sd::Placement p = ring.place(sd::vid_to_data_oid(uint32_t(1 + i / 65536), i % 65536), 3);
    if (p.count != 3 || p.node[0] == p.node[1] || p.node[1] == p.node[2] ||
        p.node[0] == p.node[2]) {
      misplaced++;
      continue;
    }
    for (int c = 0; c < 3; c++) count[p.node[c]]++;
  }
  CHECK(misplaced == 0);
  return scale_model::spread_of_counts(count);
}

// ---- a medium for many members ---------------------------------------------

// An ordered log without history (as corosync and ZooKeeper): a
// participant reads from the moment it started. Counts what it carries.
struct Medium {
  struct Entry {
    bool gone;
    std::string id;
    std::vector<char> rec;
  };
  std::deque<Entry> log;
  size_t live = 0;
  uint64_t records = 0, deliveries = 0;
  std::vector<size_t> response_bytes;  // of every JOIN_RESPONSE
};

class MediumTransport : public sd::OrderedTransport {
 public:
  MediumTransport(Medium& m, std::string id) : m_(m), id_(std::move(id)) {}
  sd::Result<std::string> start(sd::TransportEvents* events) override {
    events_ = events;
    offset_ = m_.log.size();
    alone_ = m_.live++ == 0;
    return id_;
  }
  sd::Status send(const std::vector<char>& rec) override {
    if (stopped_) return sd::err(sd::Res::ClusterError);
    m_.records++;
    if ((uint8_t(rec[0]) & 0x7f) == 2) m_.response_bytes.push_back(rec.size());
    m_.log.push_back({false, id_, rec});
    return {};
  }
  void stop() override {
    if (stopped_ || !events_) return;
    stopped_ = true;
    m_.live--;
    m_.records++;
    m_.log.push_back({true, id_, {}});
  }
  bool has_history() const override { return false; }
  bool deliver() {
    if (!events_ || stopped_) return false;
    if (alone_) {
      alone_ = false;
      events_->on_alone();
    }
    bool any = false;
    while (offset_ < m_.log.size()) {
      Medium::Entry e = m_.log[offset_++];
      any = true;
      m_.deliveries++;
      if (e.gone) events_->on_gone(e.id);
      else events_->on_record(e.id, e.rec);
    }
    return any;
  }

 private:
  Medium& m_;
  const std::string id_;
  sd::TransportEvents* events_ = nullptr;
  size_t offset_ = 0;
  bool alone_ = false;
  bool stopped_ = false;
};

struct Tally : sd::ClusterEvents {
  std::vector<char> info;  // what we present when joining
  size_t members = 0;
  bool joined = false;
  bool check_join(const sd::SdNode&, const std::vector<char>&, std::vector<char>* reply,
                  std::string*) override {
    reply->assign(1, 'y');
    return true;
  }
  void on_join(const std::vector<sd::SdNode>& m, const sd::SdNode&,
               const std::vector<char>&) override {
    members = m.size();
    joined = true;
  }
  void on_join_refused(const std::string&) override {}
  void on_leave(const std::vector<sd::SdNode>& m, const sd::SdNode&) override {
    members = m.size();
  }
  void on_message(const sd::SdNode&, const std::vector<char>&) override {}
  void on_driver_failure(const std::string&) override {}
  void on_suspended(const std::string&) override {}
  std::vector<char> join_info() override { return info; }
};

struct Member {
  Tally tally;
  MediumTransport* transport = nullptr;
  std::unique_ptr<sd::MembershipProtocol> proto;
};

// Members of one medium; ids of one length ("m0001"), so every member
// takes the same room in a JOIN_RESPONSE.
struct Crowd {
  Medium medium;
  std::vector<std::unique_ptr<Member>> members;
  // Another driver than the members' own: the first member, when there.
  MediumTransport* master_transport = nullptr;
  uint32_t next = 1;
  std::vector<char> info;  // what newcomers present

  std::unique_ptr<sd::MembershipProtocol> protocol(MediumTransport** out) {
    char id[16];
    std::snprintf(id, sizeof(id), "m%04u", next);
    auto t = std::make_unique<MediumTransport>(medium, id);
    *out = t.get();
    sd::MembershipTiming timing;
    timing.join_retry = std::chrono::hours(1);
    return std::make_unique<sd::MembershipProtocol>(std::move(t), "medium", sd::ClusterKey{},
                                                    timing);
  }
  void join() {
    auto m = std::make_unique<Member>();
    m->tally.info = info;
    m->proto = protocol(&m->transport);
    REQUIRE(m->proto->join(numbered_node(next++), &m->tally).ok());
    Member* raw = m.get();
    members.push_back(std::move(m));
    settle();
    REQUIRE(raw->tally.joined);
  }
  void leave(size_t i) {
    members[i]->proto->leave();
    members.erase(members.begin() + long(i));
    settle();
  }
  void settle() {
    for (bool any = true; any;) {
      any = master_transport && master_transport->deliver();
      for (auto& m : members) any |= m->transport->deliver();
    }
  }
};

// One formatted sheep's group parts on a directory (as sheep.cpp builds
// them, without recovery or gateway above), driven by a real protocol on
// the crowd's medium. Its last epoch (1) had only itself, so it founds
// the cluster and runs at once.
struct GroupMaster {
  struct NoMembers : sd::MembershipSource {
    sd::MembershipPtr membership() const override {
      return std::make_shared<const sd::Membership>(0, std::vector<sd::SdNode>{}, -1);
    }
    bool wait_for_epoch(uint32_t, std::chrono::milliseconds) const override { return false; }
    void wait_for_change(const sd::Membership*, std::chrono::milliseconds) const override {}
    bool strict() const override { return false; }
    bool cluster_recovered() const override { return true; }
  };
  struct Quiet : sd::GroupListener {
    void on_epoch(uint32_t) override {}
    void on_all_recovered(uint32_t) override {}
    void on_store_reset(uint32_t) override {}
    void on_peer_left(const sd::NodeId&) override {}
    void on_stop() override {}
  };
  sdtest::TempDir dir;
  sd::SdNode self = numbered_node(0);
  sd::ObjectStore store{dir.path, {}, true};
  sd::ConfigFile config{dir.path + "/config"};
  sd::EpochLog epochs{dir.path + "/epoch"};
  sd::VdiTable vdis;
  sd::VdiLocks locks;
  sd::PeerPool peers;
  sd::ReadLease lease;
  NoMembers none;
  sd::EpochRings rings{epochs, peers, none};
  Quiet listener;
  std::unique_ptr<sd::Group> group;
  std::unique_ptr<sd::MembershipProtocol> proto;

  explicit GroupMaster(Crowd& crowd) {
    REQUIRE(sd::make_dirs(dir.path + "/epoch"));
    sd::SheepConfig cfg{};
    cfg.ctime = uint64_t(time(nullptr)) << 32;
    cfg.copies = 3;
    std::memcpy(cfg.default_store, "plain", 5);
    cfg.block_size_shift = 22;
    cfg.space = self.space;
    REQUIRE(config.save(cfg).ok());
    REQUIRE(epochs.save(sd::EpochRecord{1, 1, {self}}).ok());
    REQUIRE(store.init().ok());
    group = std::make_unique<sd::Group>(sd::GroupOptions{false, 128}, self, store, config, epochs,
                                        rings, vdis, locks, lease, listener);
    proto = crowd.protocol(&crowd.master_transport);
    crowd.next++;
    REQUIRE(group->start(proto.get()).ok());
    crowd.settle();
    REQUIRE(group->running());
  }
};

uint64_t file_size(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? uint64_t(st.st_size) : 0;
}

std::string epoch_path(const std::string& dir, uint32_t e) {
  char name[16];
  std::snprintf(name, sizeof(name), "/%08u", e);
  return dir + "/epoch" + name;
}

// An epoch log of `epochs` epochs over `nodes` nodes of `vnodes` each:
// epoch e lacks node e % nodes, so each ring differs from the next. With
// an EpochRings over it (no members to fetch from).
struct LongHistory {
  sdtest::TempDir dir;
  sd::EpochLog epochs{dir.path + "/epoch"};
  std::vector<sd::SdNode> nodes;
  sd::PeerPool peers;
  sdtest::FakeMembership none;
  sd::EpochRings rings{epochs, peers, none};
  LongHistory(uint32_t nr_nodes, int vnodes, uint32_t nr_epochs) {
    REQUIRE(sd::make_dirs(dir.path + "/epoch"));
    for (uint32_t i = 0; i < nr_nodes; i++) nodes.push_back(numbered_node(i, vnodes));
    sd::sort_nodes(nodes);
    for (uint32_t e = 1; e <= nr_epochs; e++) {
      std::vector<sd::SdNode> members;
      for (uint32_t i = 0; i < nodes.size(); i++)
        if (i != e % nodes.size()) members.push_back(nodes[i]);
      REQUIRE(epochs.save(sd::EpochRecord{e, e, members}).ok());
    }
  }
};

}  // namespace

TEST_CASE("scale: on 1,000 nodes of 128 vnodes no node holds 30% more than the mean") {
  // (The issue hoped for 5 %: 128 vnodes give about 5 % of standard
  // deviation, so among 1,000 nodes the largest holds some 15-20 % more;
  // docs/SCALE.md. A ring that lost its balance fails here.)
  Spread s = spread_of(1000, 128, 600000);
  CHECK(s.largest_pct < 30);
  CHECK(s.smallest_pct > -30);
  CHECK(s.stddev_pct < 8);
}

TEST_CASE("scale: 16 times the vnodes, less than half the spread") {
  Spread few = spread_of(100, 128, 300000);
  Spread many = spread_of(100, 2048, 300000);
  CHECK(many.stddev_pct < few.stddev_pct / 2);
  CHECK(many.largest_pct < few.largest_pct);
}

TEST_CASE("scale: a join is two records and a leave one, whatever the size; only the bytes grow") {
  Crowd crowd;
  std::vector<size_t> response;  // bytes of the JOIN_RESPONSE at 16, 32, 64 members
  for (size_t size : {16, 32, 64}) {
    while (crowd.members.size() < size) crowd.join();
    uint64_t records = crowd.medium.records, deliveries = crowd.medium.deliveries;
    crowd.join();
    // JOIN and JOIN_RESPONSE, each delivered to the members and the newcomer.
    CHECK(crowd.medium.records - records == 2);
    CHECK(crowd.medium.deliveries - deliveries == 2 * (size + 1));
    response.push_back(crowd.medium.response_bytes.back());
    records = crowd.medium.records;
    deliveries = crowd.medium.deliveries;
    crowd.leave(size / 2);
    // One "gone", delivered to those who stay.
    CHECK(crowd.medium.records - records == 1);
    CHECK(crowd.medium.deliveries - deliveries == size);
    for (auto& m : crowd.members) REQUIRE(m->tally.members == size);
  }
  // The response lists every member: a fixed number of bytes each (id,
  // node, incarnation, sequence), so it grows linearly with the cluster.
  // (The event it answers, named in it, may differ by a few bytes.)
  constexpr long kPerMember = 4 + 5 + sizeof(sd::SdNode) + 8 + 8;
  CHECK(std::labs(long(response[1] - response[0]) - 16 * kPerMember) <= 8);
  CHECK(std::labs(long(response[2] - response[1]) - 32 * kPerMember) <= 8);
}

TEST_CASE("scale: with a real group every change adds one epoch file of 80 bytes a node; none goes") {
  Crowd crowd;
  GroupMaster master(crowd);
  {  // newcomers present what a fresh sheep does (unformatted, no epochs)
    sdtest::TempDir d;
    sd::ObjectStore store{d.path, {}, true};
    sd::ConfigFile config{d.path + "/config"};
    sd::EpochLog epochs{d.path + "/epoch"};
    sd::VdiTable vdis;
    sd::VdiLocks locks;
    sd::ReadLease lease;
    sd::EpochRings rings{epochs, master.peers, master.none};
    GroupMaster::Quiet quiet;
    sd::SdNode node = numbered_node(9999);
    sd::Group g(sd::GroupOptions{false, 128}, node, store, config, epochs, rings, vdis, locks,
                lease, quiet);
    crowd.info = g.join_info();
  }
  for (int i = 0; i < 20; i++) crowd.join();
  REQUIRE(master.group->epoch() == 21);
  // Leaves and joins in turn: each one epoch, its file the members then.
  for (uint32_t change = 0; change < 30; change++) {
    if (change % 2 == 0) crowd.leave(size_t(change) % crowd.members.size());
    else crowd.join();
    uint32_t e = master.group->epoch();
    CHECK(e == 22 + change);
    CHECK(master.epochs.latest() == e);
    CHECK(file_size(epoch_path(master.dir.path, e)) ==
          (crowd.members.size() + 1) * sizeof(sd::SdNode) + 8);
  }
  // The log is not bounded: the first epoch is still there, and all since.
  for (uint32_t e = 1; e <= master.group->epoch(); e++)
    REQUIRE(file_size(epoch_path(master.dir.path, e)) > 0);
}

TEST_CASE("scale: the rings of a long history are kept within a bound, and an evicted one comes back") {
  // 200 epochs of 100 nodes of 128 vnodes: 2.56 million vnodes in all,
  // more than the cache's bound.
  LongHistory h(101, 128, 200);
  auto& rings = h.rings;
  auto& nodes = h.nodes;
  auto newest = rings.ring(200);
  // A recovery walk: from the newest epoch back to the first, twice.
  for (int walk = 0; walk < 2; walk++)
    for (uint32_t e = 200; e >= 1; e--) {
      auto ring = rings.ring(e);
      REQUIRE(ring);
      REQUIRE(ring->nodes().size() == 100);
      CHECK(ring->find(nodes[e % nodes.size()].nid) < 0);
      CHECK(rings.cached_vnodes() <= sd::EpochRings::kCachedVnodes);
    }
  CHECK(rings.cached_vnodes() > 0);
  // The oldest went, not the newest: the ring of 200 is the one built
  // first (dropping the least recently used, the walks would have pushed
  // out every ring in turn and rebuilt each one of the second walk).
  CHECK(rings.ring(200).get() == newest.get());
  // The audit's scan: up to the newest, object after object. The newest
  // rings stay; what the cache cannot hold is rebuilt, the rest is not.
  std::vector<const sd::VnodeRing*> kept;
  for (uint32_t e = 1; e <= 200; e++) kept.push_back(rings.ring(e).get());
  for (uint32_t e = 200; e >= 150; e--) CHECK(rings.ring(e).get() == kept[e - 1]);
  CHECK(rings.cached_vnodes() <= sd::EpochRings::kCachedVnodes);
  // An evicted epoch is built again on demand, the same ring.
  auto again = rings.ring(1);
  REQUIRE(again);
  CHECK(again->find(nodes[1].nid) < 0);
}

TEST_CASE("scale: an audit window of 64 epochs stays whole in the ring cache, whatever the rings' size") {
  // Rings of 80,000 vnodes (20 nodes of 4,000): the vnode budget alone
  // would keep 26 of them. The audit scans its window upward object after
  // object; a window the cache cannot hold whole is rebuilt every time.
  LongHistory h(21, 4000, 100);
  auto& rings = h.rings;
  std::vector<std::shared_ptr<const sd::VnodeRing>> first;
  for (uint32_t e = 1; e <= 100; e++) first.push_back(rings.ring(e));
  // The next object's scan of the newest 64 epochs: nothing rebuilt.
  for (uint32_t e = 100 - sd::EpochRings::kKeptEpochs + 1; e <= 100; e++)
    CHECK(rings.ring(e).get() == first[e - 1].get());
  // Older ones went (the budget), and come back on demand.
  CHECK(rings.cached_vnodes() == sd::EpochRings::kKeptEpochs * 80000);
  REQUIRE(rings.ring(1));
  CHECK(rings.ring(1)->nodes().size() == 20);
}
