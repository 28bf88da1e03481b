// scale-sim: a cluster of many sheep in one process, to see what the
// membership protocol, the group layer, the vnode ring and the epoch log
// cost at about a thousand nodes (docs/SCALE.md).
//
//   scale-sim [-n NODES] [-v VNODES] [-o OIDS] [-c CHANGES] [-w WATCHERS]
//             [-d DIR] [-k] [-s SEED] [-R]
//
// What is real and what is not:
//  - every member runs the real MembershipProtocol; the medium is an
//    in-process ordered log (SimBus) without history, as corosync's CPG
//    and ZooKeeper are: a newcomer reads from the moment it arrived;
//  - the master (the first member, which never leaves) is a real Group on
//    DIR (a formatted node: config file and epoch 1 written before it
//    starts), so join replies are the ones a sheep sends, and every
//    membership change writes an epoch file and builds a ring as in sheep;
//  - the other members hand every event to a counter instead of a Group
//    (a thousand Groups would each write a thousand epoch files); they
//    present the join information of a fresh, unformatted sheep.
//
// It prints, in order:
//  1. records and bytes per join and per leave at a few cluster sizes
//     (every member delivers everything: the records the medium carries
//     and the deliveries it makes);
//  2. the time to build the ring of NODES x VNODES and the spread of OIDS
//     objects (3 copies) over the nodes;
//  3. CHANGES membership changes (a leave, then a join, ...) at about
//     NODES members, delivered to the master, to WATCHERS members and to
//     each newcomer only (the rest stop reading: their work per change is
//     what part 1 measured); then the master's epoch log on disk.
// -R prints part 2 only (for trying other vnode counts quickly).
// DIR defaults to a new directory under /dev/shm (or /var/tmp), removed at
// the end unless -k.
#include <dirent.h>
#include <getopt.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "base/log.h"
#include "cluster/membership_protocol.h"
#include "cluster/transport.h"
#include "group/group.h"
#include "oid.h"
#include "peers/peer_pool.h"
#include "ring.h"
#include "store/object_store.h"
#include "store/read_lease.h"
#include "scale_model.h"

namespace {

using scale_model::numbered_node;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// ---- the medium -------------------------------------------------------------

// What the medium carried and delivered, by record type (the first byte
// of a record without its seal bit; 0 for a "gone" event).
struct Traffic {
  static constexpr int kKinds = 6;
  uint64_t sent[kKinds] = {}, sent_bytes[kKinds] = {};
  uint64_t delivered = 0, delivered_bytes = 0;

  uint64_t records() const {
    uint64_t n = 0;
    for (uint64_t s : sent) n += s;
    return n;
  }
  uint64_t bytes() const {
    uint64_t n = 0;
    for (uint64_t s : sent_bytes) n += s;
    return n;
  }
  Traffic minus(const Traffic& before) const {
    Traffic d;
    for (int k = 0; k < kKinds; k++) {
      d.sent[k] = sent[k] - before.sent[k];
      d.sent_bytes[k] = sent_bytes[k] - before.sent_bytes[k];
    }
    d.delivered = delivered - before.delivered;
    d.delivered_bytes = delivered_bytes - before.delivered_bytes;
    return d;
  }
};

const char* const kKindNames[Traffic::kKinds] = {"gone", "JOIN", "JOIN_RESPONSE", "MSG", "FOUND",
                                                 "REFUSAL"};

class SimTransport;

// One total order shared by every participant. Entries every reading
// participant has passed are dropped, so a long run keeps only the tail.
class SimBus {
 public:
  struct Entry {
    bool gone;
    std::string id;
    std::vector<char> rec;
  };
  void push(Entry e) {
    int kind = e.gone ? 0 : (uint8_t(e.rec[0]) & 0x7f);
    if (kind >= Traffic::kKinds) kind = 0;
    traffic.sent[kind]++;
    traffic.sent_bytes[kind] += e.rec.size();
    log_.push_back(std::move(e));
  }
  uint64_t end() const { return base_ + log_.size(); }
  const Entry& at(uint64_t pos) const { return log_[size_t(pos - base_)]; }
  // Drops what every reader in `readers` has delivered.
  void trim(const std::vector<SimTransport*>& readers);
  bool nobody_reading(const SimTransport* except) const;
  std::vector<SimTransport*> live;  // started and not stopped
  Traffic traffic;

 private:
  std::deque<Entry> log_;
  uint64_t base_ = 0;
};

class SimTransport : public sd::OrderedTransport {
 public:
  SimTransport(SimBus& bus, std::string id) : bus_(bus), id_(std::move(id)) {}
  ~SimTransport() override { stop(); }
  sd::Result<std::string> start(sd::TransportEvents* events) override {
    events_ = events;
    offset_ = bus_.end();
    alone_ = bus_.live.empty();
    bus_.live.push_back(this);
    return id_;
  }
  sd::Status send(const std::vector<char>& rec) override {
    if (stopped_) return sd::err(sd::Res::ClusterError);
    bus_.push({false, id_, rec});
    return {};
  }
  void stop() override {
    if (stopped_ || !events_) return;
    stopped_ = true;
    bus_.live.erase(std::find(bus_.live.begin(), bus_.live.end(), this));
    bus_.push({true, id_, {}});
  }
  bool has_history() const override { return false; }
  // Delivers everything not seen yet; false when there was nothing.
  bool deliver() {
    if (!events_ || stopped_) return false;
    bool any = false;
    if (alone_) {
      alone_ = false;
      events_->on_alone();
    }
    while (offset_ < bus_.end()) {
      const SimBus::Entry& e = bus_.at(offset_++);
      any = true;
      bus_.traffic.delivered++;
      bus_.traffic.delivered_bytes += e.rec.size();
      if (e.gone) events_->on_gone(e.id);
      else events_->on_record(e.id, e.rec);
    }
    return any;
  }
  uint64_t offset() const { return offset_; }
  bool stopped() const { return stopped_; }

 private:
  SimBus& bus_;
  const std::string id_;
  sd::TransportEvents* events_ = nullptr;
  uint64_t offset_ = 0;
  bool alone_ = false;
  bool stopped_ = false;
};

void SimBus::trim(const std::vector<SimTransport*>& readers) {
  uint64_t low = end();
  for (const auto* r : readers)
    if (!r->stopped()) low = std::min(low, r->offset());
  while (base_ < low) {
    log_.pop_front();
    base_++;
  }
}

// ---- the members --------------------------------------------------------

// A member that is not the master: counts what it hears.
struct Counter : sd::ClusterEvents {
  const std::vector<char>* info = nullptr;  // a fresh sheep's join information
  size_t members = 0;
  uint64_t joins = 0, leaves = 0;
  bool refused = false;
  bool check_join(const sd::SdNode&, const std::vector<char>&, std::vector<char>* reply,
                  std::string*) override {
    reply->assign(1, 'y');  // (never the master here)
    return true;
  }
  void on_join(const std::vector<sd::SdNode>& m, const sd::SdNode&,
               const std::vector<char>&) override {
    members = m.size();
    joins++;
  }
  void on_join_refused(const std::string&) override { refused = true; }
  void on_leave(const std::vector<sd::SdNode>& m, const sd::SdNode&) override {
    members = m.size();
    leaves++;
  }
  void on_message(const sd::SdNode&, const std::vector<char>&) override {}
  void on_driver_failure(const std::string&) override {}
  void on_suspended(const std::string&) override {}
  std::vector<char> join_info() override { return *info; }
};

struct NoMembers : sd::MembershipSource {
  sd::MembershipPtr membership() const override {
    return std::make_shared<const sd::Membership>(0, std::vector<sd::SdNode>{}, -1);
  }
  bool wait_for_epoch(uint32_t, std::chrono::milliseconds) const override { return false; }
  void wait_for_change(const sd::Membership*, std::chrono::milliseconds) const override {}
  bool strict() const override { return false; }
  bool cluster_recovered() const override { return true; }
};

struct QuietListener : sd::GroupListener {
  uint64_t epochs = 0, stops = 0;
  void on_epoch(uint32_t) override { epochs++; }
  void on_all_recovered(uint32_t) override {}
  void on_store_reset(uint32_t) override {}
  void on_peer_left(const sd::NodeId&) override {}
  void on_stop() override { stops++; }
};

// One sheep's group parts on a directory, as sheep.cpp puts them together
// (no recovery, gateway or server above them).
struct GroupNode {
  std::string dir;
  sd::SdNode self;
  sd::ObjectStore store;
  sd::ConfigFile config;
  sd::EpochLog epochs;
  sd::VdiTable vdis;
  sd::VdiLocks locks;
  sd::PeerPool peers;
  sd::ReadLease lease;
  NoMembers no_members;
  sd::EpochRings rings;
  QuietListener listener;
  sd::Group group;
  GroupNode(const std::string& d, const sd::SdNode& node, int vnodes)
      : dir(d),
        self(node),
        store(d, {}, true),
        config(d + "/config"),
        epochs(d + "/epoch"),
        rings(epochs, peers, no_members),
        group(sd::GroupOptions{false, vnodes}, self, store, config, epochs, rings, vdis, locks,
              lease, listener) {}
};

// Makes `dir` the directory of a formatted sheep whose last epoch (1) had
// only itself: started, it founds the cluster and runs at once.
bool preformat(const std::string& dir, const sd::SdNode& self) {
  if (!sd::make_dirs(dir + "/epoch")) return false;
  sd::SheepConfig cfg{};
  cfg.ctime = uint64_t(time(nullptr)) << 32;
  cfg.copies = 3;
  std::memcpy(cfg.default_store, "plain", 5);
  cfg.block_size_shift = 22;
  cfg.space = self.space;
  if (!sd::ConfigFile(dir + "/config").save(cfg).ok()) return false;
  return sd::EpochLog(dir + "/epoch").save(sd::EpochRecord{1, uint64_t(time(nullptr)), {self}}).ok();
}

struct Participant {
  uint32_t number = 0;
  SimTransport* transport = nullptr;
  Counter counter;
  std::unique_ptr<sd::MembershipProtocol> proto;
  bool reading = true;  // delivers on every settle
};

struct Sample {
  size_t members;   // before the change
  Traffic traffic;  // of the change, settled
  double ms_all;    // every reading member's delivery time
  double ms_master; // the master's share of it
};

class Sim {
 public:
  Sim(std::string dir, int vnodes) : dir_(std::move(dir)), vnodes_(vnodes) {}

  bool start() {
    sd::SdNode first = numbered_node(next_number_++, vnodes_);
    if (!preformat(dir_ + "/master", first)) return false;
    // A fresh sheep's join information, from a group that never started.
    sd::make_dirs(dir_ + "/fresh/epoch");
    GroupNode fresh(dir_ + "/fresh", numbered_node(0, vnodes_), vnodes_);
    fresh_info_ = fresh.group.join_info();
    master_ = std::make_unique<GroupNode>(dir_ + "/master", first, vnodes_);
    if (!master_->store.init().ok()) return false;
    auto t = std::make_unique<SimTransport>(bus_, "m0");
    master_transport_ = t.get();
    master_proto_ = std::make_unique<sd::MembershipProtocol>(std::move(t), "sim");
    if (!master_->group.start(master_proto_.get()).ok()) return false;
    settle();
    return master_->group.running();
  }

  // A newcomer asks in and everything settles.
  bool join() {
    auto p = std::make_unique<Participant>();
    p->number = next_number_++;
    p->counter.info = &fresh_info_;
    auto t = std::make_unique<SimTransport>(bus_, "m" + std::to_string(p->number));
    p->transport = t.get();
    sd::MembershipTiming timing;
    timing.join_retry = std::chrono::hours(1);  // no re-sends: everything is answered
    p->proto = std::make_unique<sd::MembershipProtocol>(std::move(t), "sim", sd::ClusterKey{},
                                                        timing);
    if (!p->proto->join(numbered_node(p->number, vnodes_), &p->counter).ok()) return false;
    Participant* raw = p.get();
    members_.push_back(std::move(p));
    settle();
    return raw->counter.joins > 0 && !raw->counter.refused;
  }

  // Member `index` (not the master) leaves and everything settles.
  void leave(size_t index) {
    members_[index]->proto->leave();
    members_.erase(members_.begin() + long(index));
    settle();
  }

  // Delivers until nobody reading has anything new.
  void settle() {
    for (;;) {
      auto t = Clock::now();
      bool any = master_transport_->deliver();
      master_ms_ += ms_since(t);
      for (auto& p : members_)
        if (p->reading) any |= p->transport->deliver();
      if (!any) break;
    }
    std::vector<SimTransport*> readers{master_transport_};
    for (auto& p : members_)
      if (p->reading) readers.push_back(p->transport);
    bus_.trim(readers);
  }

  template <typename Change>
  Sample measure(Change change) {
    Sample s{size(), {}, 0, 0};
    Traffic before = bus_.traffic;
    double master_before = master_ms_;
    auto t = Clock::now();
    change();
    s.ms_all = ms_since(t);
    s.ms_master = master_ms_ - master_before;
    s.traffic = bus_.traffic.minus(before);
    return s;
  }

  size_t size() const { return members_.size() + 1; }
  std::vector<std::unique_ptr<Participant>>& members() { return members_; }
  GroupNode& master() { return *master_; }
  const sd::MembershipProtocol& master_proto() const { return *master_proto_; }

 private:
  std::string dir_;
  int vnodes_;
  SimBus bus_;
  uint32_t next_number_ = 1;
  std::vector<char> fresh_info_;
  std::unique_ptr<GroupNode> master_;
  SimTransport* master_transport_ = nullptr;
  std::unique_ptr<sd::MembershipProtocol> master_proto_;
  std::vector<std::unique_ptr<Participant>> members_;
  double master_ms_ = 0;  // the master's delivery time, all along
};

// ---- reports ----------------------------------------------------------------

void print_sample(const char* what, const Sample& s) {
  std::string kinds;
  for (int k = 0; k < Traffic::kKinds; k++) {
    if (!s.traffic.sent[k]) continue;
    char b[96];
    std::snprintf(b, sizeof(b), "%s%s x%llu (%llu B)", kinds.empty() ? "" : ", ", kKindNames[k],
                  (unsigned long long)s.traffic.sent[k], (unsigned long long)s.traffic.sent_bytes[k]);
    kinds += b;
  }
  std::printf("  %-5s at %5zu members: %llu records, %llu B sent [%s]; %llu deliveries, %.1f MB "
              "delivered; %.1f ms (master %.1f ms)\n",
              what, s.members, (unsigned long long)s.traffic.records(),
              (unsigned long long)s.traffic.bytes(), kinds.c_str(),
              (unsigned long long)s.traffic.delivered, double(s.traffic.delivered_bytes) / 1e6,
              s.ms_all, s.ms_master);
}

struct DirUsage {
  uint64_t files = 0, bytes = 0, blocks_bytes = 0;
};

DirUsage usage(const std::string& dir) {
  DirUsage u;
  DIR* d = opendir(dir.c_str());
  if (!d) return u;
  while (dirent* de = readdir(d)) {
    if (de->d_name[0] == '.') continue;
    struct stat st;
    if (stat((dir + "/" + de->d_name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    u.files++;
    u.bytes += uint64_t(st.st_size);
    u.blocks_bytes += uint64_t(st.st_blocks) * 512;
  }
  closedir(d);
  return u;
}

// Builds the ring of `n` nodes of `vnodes` each (best of a few) and places
// `oids` data objects with 3 copies; prints the spread.
void ring_report(uint32_t n, int vnodes, uint64_t oids) {
  std::vector<sd::SdNode> nodes;
  for (uint32_t i = 1; i <= n; i++) nodes.push_back(numbered_node(i, vnodes));
  sd::sort_nodes(nodes);
  double best = 1e30;
  std::unique_ptr<sd::VnodeRing> ring;
  for (int round = 0; round < 5; round++) {
    auto t = Clock::now();
    auto r = std::make_unique<sd::VnodeRing>(nodes);
    best = std::min(best, ms_since(t));
    ring = std::move(r);
  }
  std::vector<uint64_t> count(n, 0), first(n, 0);
  auto t = Clock::now();
  constexpr uint64_t kPerVdi = 1u << 16;  // 256 GiB VDIs of 4 MiB objects
  for (uint64_t i = 0; i < oids; i++) {
    uint64_t oid = sd::vid_to_data_oid(uint32_t(1 + i / kPerVdi), i % kPerVdi);
    sd::Placement p = ring->place(oid, 3);
    for (int c = 0; c < p.count; c++) count[p.node[c]]++;
    if (p.count) first[p.node[0]]++;
  }
  double place_ms = ms_since(t);
  scale_model::Spread all = scale_model::spread_of_counts(count);
  scale_model::Spread firsts = scale_model::spread_of_counts(first);
  std::printf("  %u nodes x %d vnodes: ring of %zu vnodes built in %.1f ms (%.1f MB); %llu oids "
              "x 3 copies placed in %.0f ms\n",
              n, vnodes, ring->nr_vnodes(), best, double(ring->nr_vnodes()) * 16 / 1e6,
              (unsigned long long)oids, place_ms);
  std::printf("    copies per node: mean %.0f, largest %+.1f %%, smallest %+.1f %%, stddev %.1f %%"
              " (first copies only: largest %+.1f %%, stddev %.1f %%)\n",
              double(oids) * 3 / n, all.largest_pct, all.smallest_pct, all.stddev_pct,
              firsts.largest_pct, firsts.stddev_pct);
}

void usage_exit() {
  std::fprintf(stderr,
               "usage: scale-sim [-n NODES] [-v VNODES] [-o OIDS] [-c CHANGES] [-w WATCHERS] "
               "[-d DIR] [-k] [-s SEED] [-R]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t nodes = 1000;
  int vnodes = 128;
  uint64_t oids = 1000000;
  uint64_t changes = 10000;
  size_t watchers = 2;
  std::string dir;
  bool keep = false, ring_only = false;
  unsigned seed = 1;
  int c;
  while ((c = getopt(argc, argv, "n:v:o:c:w:d:ks:Rh")) != -1) {
    switch (c) {
      case 'n': nodes = uint32_t(std::strtoul(optarg, nullptr, 10)); break;
      case 'v': vnodes = std::atoi(optarg); break;
      case 'o': oids = std::strtoull(optarg, nullptr, 10); break;
      case 'c': changes = std::strtoull(optarg, nullptr, 10); break;
      case 'w': watchers = size_t(std::atoi(optarg)); break;
      case 'd': dir = optarg; break;
      case 'k': keep = true; break;
      case 's': seed = unsigned(std::atoi(optarg)); break;
      case 'R': ring_only = true; break;
      default: usage_exit();
    }
  }
  if (nodes < 2 || nodes > sd::kMaxNodes || vnodes < 1 || vnodes > 65535) usage_exit();
  sd::log::set_level(sd::log::Err);
  if (ring_only) {
    ring_report(nodes, vnodes, oids);
    return 0;
  }
  if (dir.empty()) {
    char tmpl[] = "/dev/shm/scale-sim-XXXXXX";
    char tmpl2[] = "/var/tmp/scale-sim-XXXXXX";
    const char* made = access("/dev/shm", W_OK) == 0 ? mkdtemp(tmpl) : nullptr;
    if (!made) made = mkdtemp(tmpl2);
    if (!made) {
      std::perror("mkdtemp");
      return 2;
    }
    dir = made;
  } else if (!sd::make_dirs(dir)) {
    std::fprintf(stderr, "cannot create %s\n", dir.c_str());
    return 2;
  }
  std::printf("scale-sim: %u nodes, %d vnodes each, directory %s\n", nodes, vnodes, dir.c_str());
  int status = 0;
  {
    Sim sim(dir, vnodes);
    if (!sim.start()) {
      std::fprintf(stderr, "the master did not start\n");
      return 1;
    }
    // 1. Growth, with a join and a leave measured at a few sizes.
    std::printf("1. membership records (no cluster key; every member delivers everything)\n");
    std::vector<size_t> sizes;
    for (size_t s : {size_t(10), size_t(100), size_t(nodes)})
      if (s <= nodes && (sizes.empty() || s > sizes.back())) sizes.push_back(s);
    auto t_grow = Clock::now();
    for (size_t s : sizes) {
      while (sim.size() < s)
        if (!sim.join()) {
          std::fprintf(stderr, "a join failed at %zu members\n", sim.size());
          return 1;
        }
      bool ok = true;
      Sample j = sim.measure([&] { ok = sim.join(); });
      Sample l = sim.measure([&] { sim.leave(sim.members().size() / 2); });
      if (!ok) return 1;
      print_sample("join", j);
      print_sample("leave", l);
    }
    std::printf("  grown to %zu members in %.1f s\n", sim.size(), ms_since(t_grow) / 1000);

    // 2. The ring.
    std::printf("2. the ring\n");
    ring_report(nodes, vnodes, oids);

    // 3. Churn at about `nodes` members.
    std::printf("3. %llu membership changes at about %u members (master, %zu watchers and "
                "newcomers read)\n",
                (unsigned long long)changes, nodes, watchers);
    auto& members = sim.members();
    for (size_t i = 0; i < members.size(); i++) members[i]->reading = i < watchers;
    std::mt19937 rng(seed);
    DirUsage before = usage(dir + "/master/epoch");
    uint32_t epoch_before = sim.master().group.epoch();
    double master_ms = 0;
    auto t_churn = Clock::now();
    for (uint64_t k = 0; k < changes; k++) {
      Sample s{};
      if (k % 2 == 0 && members.size() > watchers + 1) {
        size_t victim = watchers + rng() % (members.size() - watchers);
        s = sim.measure([&] { sim.leave(victim); });
      } else {
        bool ok = true;
        s = sim.measure([&] { ok = sim.join(); });
        if (!ok) {
          std::fprintf(stderr, "a join failed during the churn\n");
          return 1;
        }
        members.back()->reading = false;  // it has joined; it reads no more
      }
      master_ms += s.ms_master;
    }
    double churn_s = ms_since(t_churn) / 1000;
    DirUsage after = usage(dir + "/master/epoch");
    uint32_t epoch_after = sim.master().group.epoch();
    bool agree = true;
    for (size_t i = 0; i < watchers && i < members.size(); i++)
      agree &= members[i]->counter.members == sim.size();
    std::printf("  %llu changes in %.1f s; the master's share %.2f ms per change (protocol, "
                "group, epoch file, ring); watchers agree on %zu members: %s\n",
                (unsigned long long)changes, churn_s, master_ms / double(std::max<uint64_t>(changes, 1)),
                sim.size(), agree ? "yes" : "NO");
    std::printf("  epoch %u -> %u; epoch log %s/master/epoch: %llu files, %.1f MB (%.1f MB in "
                "blocks); this run's changes added %llu files, %.1f MB\n",
                epoch_before, epoch_after, dir.c_str(), (unsigned long long)after.files,
                double(after.bytes) / 1e6, double(after.blocks_bytes) / 1e6,
                (unsigned long long)(after.files - before.files),
                double(after.bytes - before.bytes) / 1e6);
    std::printf("  one epoch file at %zu members: %zu B (80 B per node + 8); nothing removes "
                "old epochs (bounded: no)\n",
                sim.size(), sim.size() * sizeof(sd::SdNode) + 8);
    std::printf("  rings of every epoch, were recovery to build them all: %.1f GB\n",
                double(epoch_after) * double(sim.size()) * vnodes * 16 / 1e9);
    if (!agree || epoch_after - epoch_before != changes) status = 1;
  }
  if (!keep) std::system(("rm -rf '" + dir + "'").c_str());
  return status;
}
