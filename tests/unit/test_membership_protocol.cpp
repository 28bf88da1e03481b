// MembershipProtocol over a fake ordered transport: joins, leaves, the
// master's decisions and the orders in which they can interleave; with a
// cluster key, what forged, replayed and keyless records can(not) do.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "cluster/membership_protocol.h"
#include "cluster/transport.h"
#include "proto/node.h"

namespace {

using sd::SdNode;

// One medium shared by every participant: a list of records in total
// order. deliver() hands each participant every record after its offset,
// synchronously, so a test decides exactly when things are seen.
struct Bus {
  struct Entry {
    bool gone;
    std::string id;  // the origin the medium reports
    std::vector<char> rec;
  };
  std::vector<Entry> log;
  int next_id = 1;
};

// With history (the local driver) a participant sees everything ever
// sent; without (corosync) only what was sent after it started.
class FakeTransport : public sd::OrderedTransport {
 public:
  FakeTransport(Bus& bus, bool history, std::string id = "")
      : bus_(bus), history_(history), id_(std::move(id)) {}
  sd::Result<std::string> start(sd::TransportEvents* events) override {
    events_ = events;
    if (id_.empty()) id_ = "t" + std::to_string(bus_.next_id++);
    if (!history_) offset_ = bus_.log.size();
    return id_;
  }
  sd::Status send(const std::vector<char>& rec) override {
    if (stopped_) return sd::err(sd::Res::ClusterError);
    bus_.log.push_back({false, id_, rec});
    return {};
  }
  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    bus_.log.push_back({true, id_, {}});
  }
  bool has_history() const override { return history_; }
  // Delivers everything not yet seen; false when nothing was new.
  bool deliver() {
    if (!events_ || dead_) return false;
    bool any = false;
    while (offset_ < bus_.log.size()) {
      Bus::Entry e = bus_.log[offset_++];
      any = true;
      if (e.gone) events_->on_gone(e.id);
      else events_->on_record(e.id, e.rec);
    }
    return any;
  }
  // The process died: it delivers nothing more; the others hear of it.
  void crash() {
    vanish();
    announce_death();
  }
  // Died, and nobody has noticed yet.
  void vanish() { dead_ = true; }
  void announce_death() { bus_.log.push_back({true, id_, {}}); }
  const std::string& id() const { return id_; }

 private:
  Bus& bus_;
  const bool history_;
  sd::TransportEvents* events_ = nullptr;
  std::string id_;
  size_t offset_ = 0;
  bool stopped_ = false;
  bool dead_ = false;
};

SdNode node(uint16_t port) {
  SdNode n{};
  sd::parse_addr("127.0.0.1", n.nid.addr);
  n.nid.port = port;
  n.nr_vnodes = 128;
  return n;
}

// What a sheep's Group would see, and the master's verdict on newcomers.
struct Recorder : sd::ClusterEvents {
  std::vector<std::string> events;           // "join 7001 [7000 7001]" ...
  std::vector<std::vector<SdNode>> members;  // after each join or leave
  bool refuse_port = false;
  uint16_t refused = 0;
  bool refused_me = false;
  std::string refusal;
  std::vector<std::string> messages;

  static std::string list(const std::vector<SdNode>& m) {
    std::string s;
    for (const auto& n : m) s += (s.empty() ? "" : " ") + std::to_string(n.nid.port);
    return "[" + s + "]";
  }
  bool check_join(const SdNode& n, const std::vector<char>&, std::vector<char>* reply,
                  std::string* why) override {
    bool ok = !(refuse_port && n.nid.port == refused);
    *reply = {'y'};
    if (!ok) *why = "no";
    return ok;
  }
  void on_join(const std::vector<SdNode>& m, const SdNode& n, const std::vector<char>& reply) override {
    events.push_back("join " + std::to_string(n.nid.port) + " " + list(m) +
                     (reply.empty() ? " founder" : ""));
    members.push_back(m);
  }
  void on_join_refused(const std::string& w) override {
    refused_me = true;
    refusal = w;
  }
  void on_leave(const std::vector<SdNode>& m, const SdNode& n) override {
    events.push_back("leave " + std::to_string(n.nid.port) + " " + list(m));
    members.push_back(m);
  }
  void on_message(const SdNode& sender, const std::vector<char>& msg) override {
    messages.push_back(std::to_string(sender.nid.port) + ":" + std::string(msg.begin(), msg.end()));
  }
  void on_driver_failure(const std::string& why) override { events.push_back("failure " + why); }
  void on_suspended(const std::string& why) override { events.push_back("suspended " + why); }
  std::vector<char> join_info() override { return {}; }
};

struct Participant {
  Recorder rec;
  FakeTransport* transport;
  std::unique_ptr<sd::MembershipProtocol> proto;
  // (Refusals that cannot be authenticated are believed at once here,
  // unless patient.)
  Participant(Bus& bus, uint16_t port, const std::string& key = "", bool history = true,
              const std::string& id = "", bool patient = false) {
    auto t = std::make_unique<FakeTransport>(bus, history, id);
    transport = t.get();
    sd::MembershipProtocol::Timing timing;
    if (!patient) timing.refusal_patience = std::chrono::milliseconds(0);
    timing.join_retry = std::chrono::hours(1);
    proto = std::make_unique<sd::MembershipProtocol>(
        std::move(t), "fake", key.empty() ? sd::ClusterKey{} : sd::ClusterKey::from_bytes(key),
        timing);
    REQUIRE(proto->join(node(port), &rec).ok());
  }
};

// Delivers until nobody has anything new.
void settle(std::vector<Participant*> ps) {
  for (int round = 0; round < 100; round++) {
    bool any = false;
    for (auto* p : ps) any |= p->transport->deliver();
    if (!any) return;
  }
  FAIL("delivery did not settle");
}

}  // namespace

TEST_CASE("the first node founds the cluster, the next ones are admitted by it, oldest first") {
  Bus bus;
  Participant a(bus, 7000);
  settle({&a});
  CHECK(a.rec.events == std::vector<std::string>{"join 7000 [7000] founder"});
  Participant b(bus, 7001), c(bus, 7002);
  settle({&a, &b, &c});
  std::vector<std::string> want{"join 7000 [7000] founder", "join 7001 [7000 7001]",
                                "join 7002 [7000 7001 7002]"};
  CHECK(a.rec.events == want);
  // A newcomer's history starts with its own join; it sees the ones after.
  CHECK(b.rec.events == std::vector<std::string>{"join 7001 [7000 7001]", "join 7002 [7000 7001 7002]"});
  CHECK(c.rec.events == std::vector<std::string>{"join 7002 [7000 7001 7002]"});
}

TEST_CASE("a refused newcomer hears it; the members see no join") {
  Bus bus;
  Participant a(bus, 7000);
  settle({&a});
  a.rec.refuse_port = true;
  a.rec.refused = 7001;
  Participant b(bus, 7001);
  settle({&a, &b});
  CHECK(b.rec.refused_me);
  CHECK(b.rec.events.empty());
  CHECK(a.rec.events.size() == 1);
}

TEST_CASE("broadcasts reach every member in one order, the sender included") {
  Bus bus;
  Participant a(bus, 7000), b(bus, 7001);
  settle({&a, &b});
  REQUIRE(b.proto->broadcast({'x'}).ok());
  REQUIRE(a.proto->broadcast({'y'}).ok());
  settle({&a, &b});
  std::vector<std::string> want{"7001:x", "7000:y"};
  CHECK(a.rec.messages == want);
  CHECK(b.rec.messages == want);
}

TEST_CASE("a member that dies is a leave for the others, in the same place of the order") {
  Bus bus;
  Participant a(bus, 7000), b(bus, 7001), c(bus, 7002);
  settle({&a, &b, &c});
  b.transport->crash();
  settle({&a, &c});
  CHECK(a.rec.events.back() == "leave 7001 [7000 7002]");
  CHECK(c.rec.events.back() == "leave 7001 [7000 7002]");
}

TEST_CASE("the master dies before answering a newcomer: the next oldest member answers it") {
  Bus bus;
  Participant a(bus, 7000), b(bus, 7001);
  settle({&a, &b});
  // The newcomer's JOIN reaches the log, then the master dies before it has
  // seen it: its answer is never sent.
  Participant c(bus, 7002);
  a.transport->crash();
  settle({&b, &c});
  CHECK(b.rec.events.back() == "join 7002 [7001 7002]");
  CHECK(c.rec.events == std::vector<std::string>{"join 7002 [7001 7002]"});
}

TEST_CASE("an answer given before something else happened is void; the master decides again") {
  Bus bus;
  Participant a(bus, 7000), b(bus, 7001);
  settle({&a, &b});
  // c asks, and b's broadcast lands after the JOIN but before the master's
  // answer to it: that answer was computed on a state that no longer holds.
  Participant c(bus, 7002);
  REQUIRE(b.proto->broadcast({'m'}).ok());
  size_t before = bus.log.size();
  settle({&a, &b, &c});
  int answers = 0;
  for (size_t i = before; i < bus.log.size(); i++) answers += !bus.log[i].gone;
  CHECK(answers == 2);  // the void answer and the one that counts
  std::vector<std::string> want{"join 7000 [7000] founder", "join 7001 [7000 7001]",
                                "join 7002 [7000 7001 7002]"};
  CHECK(a.rec.events == want);
  CHECK(b.rec.events.back() == "join 7002 [7000 7001 7002]");
  CHECK(c.rec.events == std::vector<std::string>{"join 7002 [7000 7001 7002]"});
  CHECK(a.rec.messages == std::vector<std::string>{"7001:m"});
}

TEST_CASE("a member that leaves while a newcomer waits: one epoch each, the same everywhere") {
  Bus bus;
  Participant a(bus, 7000), b(bus, 7001), c(bus, 7002);
  settle({&a, &b, &c});
  Participant d(bus, 7003);
  c.transport->crash();  // between d's JOIN and the master's answer
  settle({&a, &b, &d});
  CHECK(a.rec.events.size() == 5);
  CHECK(a.rec.events[3].rfind("leave 7002", 0) == 0);
  CHECK(a.rec.events[4] == "join 7003 [7000 7001 7003]");
  CHECK(b.rec.events.back() == "join 7003 [7000 7001 7003]");
  CHECK(d.rec.events == std::vector<std::string>{"join 7003 [7000 7001 7003]"});
}

TEST_CASE("a member started again before its death was seen: its old self leaves at the new JOIN") {
  Bus bus;
  Participant a(bus, 7000), b(bus, 7001), c(bus, 7002);
  settle({&a, &b, &c});
  b.transport->vanish();          // kill -9 ...
  Participant b2(bus, 7001);      // ... and started again at once, same address
  settle({&a, &c, &b2});
  std::vector<std::string> tail(a.rec.events.end() - 2, a.rec.events.end());
  CHECK(tail == std::vector<std::string>{"leave 7001 [7000 7002]", "join 7001 [7000 7002 7001]"});
  CHECK(b2.rec.events == std::vector<std::string>{"join 7001 [7000 7002 7001]"});  // oldest first
  CHECK(!b2.rec.refused_me);
  // The death of the old incarnation, reported late, changes nothing more.
  size_t before = a.rec.events.size();
  b.transport->announce_death();
  settle({&a, &c, &b2});
  CHECK(a.rec.events.size() == before);
  CHECK(c.rec.members.back().size() == 3);
}

namespace {

const char kKey[] = "the cluster's own key";

// A record as MembershipProtocol writes it (unsealed): type, sender,
// incarnation, seq, body.
std::vector<char> record(uint8_t type, const std::string& sender, uint64_t seq,
                         const std::vector<char>& body) {
  sd::RecordWriter w;
  w.u8(type).str(sender).u64(42).u64(seq).raw(body.data(), body.size());
  return w.buf();
}

std::vector<std::string> ports(const std::vector<SdNode>& m) {
  std::vector<std::string> out;
  for (const auto& n : m) out.push_back(std::to_string(n.nid.port));
  return out;
}

}  // namespace

TEST_CASE("with a cluster key, a sheep without it or with another is refused and never listed") {
  Bus bus;
  Participant a(bus, 7000, kKey), b(bus, 7001, kKey);
  settle({&a, &b});
  Participant x(bus, 7002, "somebody else's key"), y(bus, 7003);
  settle({&a, &b, &x, &y});
  CHECK(x.rec.refused_me);
  CHECK(x.rec.refusal.find("does not hold the cluster key") != std::string::npos);
  CHECK(y.rec.refused_me);
  CHECK(x.rec.events.empty());
  CHECK(y.rec.events.empty());
  CHECK(ports(a.rec.members.back()) == std::vector<std::string>{"7000", "7001"});
  CHECK(ports(b.rec.members.back()) == std::vector<std::string>{"7000", "7001"});
  // Ignoring the refusal gets it nowhere: its messages are dropped too.
  REQUIRE(y.proto->broadcast({'z'}).ok());
  REQUIRE(a.proto->broadcast({'a'}).ok());
  settle({&a, &b});
  CHECK(a.rec.messages == std::vector<std::string>{"7000:a"});
  // Members still admit a sheep with the key.
  Participant c(bus, 7004, kKey);
  settle({&a, &b, &c});
  CHECK(a.rec.events.back() == "join 7004 [7000 7001 7004]");
}

TEST_CASE("a keyless cluster refuses a sheep that has a key") {
  Bus bus;
  Participant a(bus, 7000);
  settle({&a});
  Participant k(bus, 7001, kKey);
  settle({&a, &k});
  CHECK(k.rec.refused_me);
  CHECK(k.rec.refusal.find("uses a cluster key and this cluster has none") != std::string::npos);
  CHECK(a.rec.events.size() == 1);
}

TEST_CASE("forged and replayed records change nothing in a keyed cluster") {
  Bus bus;
  Participant a(bus, 7000, kKey), b(bus, 7001, kKey);
  settle({&a, &b});
  REQUIRE(a.proto->broadcast({'f'}).ok());
  settle({&a, &b});
  REQUIRE(a.rec.messages.size() == 1);
  // Every sealed record so far, replayed as it was: the format-like
  // message, the joins, the master's answers.
  std::vector<Bus::Entry> seen(bus.log.begin(), bus.log.end());
  for (const auto& e : seen)
    if (!e.gone) bus.log.push_back(e);
  // A member's id claimed by another sender (the medium says who sent it).
  bus.log.push_back({false, "intruder", record(3, a.transport->id(), 999, {1, 0, 0, 0, 'x'})});
  // Unsealed records under a member's own id, with fresh sequence numbers.
  sd::RecordWriter msg;
  msg.bytes({'x'});
  bus.log.push_back({false, a.transport->id(), record(3, a.transport->id(), 1000, msg.buf())});
  sd::RecordWriter join;
  join.node(node(7009)).bytes({});
  bus.log.push_back({false, "ghost", record(1, "ghost", 1, join.buf())});
  settle({&a, &b});
  CHECK(a.rec.messages == std::vector<std::string>{"7000:f"});
  CHECK(b.rec.messages == std::vector<std::string>{"7000:f"});
  CHECK(a.rec.events.size() == 2);
  CHECK(ports(a.rec.members.back()) == std::vector<std::string>{"7000", "7001"});
  CHECK(ports(b.rec.members.back()) == std::vector<std::string>{"7000", "7001"});
  // The cluster still works: a new member, messages in one order.
  Participant c(bus, 7002, kKey);
  settle({&a, &b, &c});
  REQUIRE(b.proto->broadcast({'g'}).ok());
  settle({&a, &b, &c});
  CHECK(c.rec.messages == std::vector<std::string>{"7001:g"});
  CHECK(a.rec.messages == std::vector<std::string>{"7000:f", "7001:g"});
}

TEST_CASE("without a key, a record is still taken only from the sender the medium names") {
  Bus bus;
  Participant a(bus, 7000), b(bus, 7001);
  settle({&a, &b});
  sd::RecordWriter msg;
  msg.bytes({'x'});
  bus.log.push_back({false, "intruder", record(3, a.transport->id(), 50, msg.buf())});
  // A decision that does not come from the master is not one.
  sd::RecordWriter resp;
  resp.str("t9").u8(1).str("").u32(0).bytes({});
  bus.log.push_back({false, b.transport->id(), record(2, b.transport->id(), 77, resp.buf())});
  settle({&a, &b});
  CHECK(a.rec.messages.empty());
  CHECK(b.rec.messages.empty());
  CHECK(ports(a.rec.members.back()) == std::vector<std::string>{"7000", "7001"});
}

TEST_CASE("a sheep started again under the same id (a reused pid) is a new process, not a replay") {
  // corosync (no history) names a process node:pid, and pids come back.
  Bus bus;
  Participant a(bus, 7000, kKey, false);
  a.proto->on_alone();
  settle({&a});
  Participant b(bus, 7001, kKey, false, "1:77");
  settle({&a, &b});
  REQUIRE(a.proto->broadcast({'x'}).ok());
  REQUIRE(b.proto->broadcast({'y'}).ok());
  settle({&a, &b});
  b.transport->crash();
  settle({&a});
  CHECK(a.rec.events.back() == "leave 7001 [7000]");
  // Same id, fresh sequence numbers: still admitted, and heard.
  Participant b2(bus, 7001, kKey, false, "1:77");
  settle({&a, &b2});
  CHECK(a.rec.events.back() == "join 7001 [7000 7001]");
  CHECK(b2.rec.events == std::vector<std::string>{"join 7001 [7000 7001]"});
  REQUIRE(b2.proto->broadcast({'z'}).ok());
  settle({&a, &b2});
  CHECK(a.rec.messages.back() == "7001:z");
}

TEST_CASE("a keyed newcomer is not turned away by one refusal it cannot authenticate") {
  Bus bus;
  Participant a(bus, 7000, kKey);
  settle({&a});
  // The newcomer's JOIN reaches the medium; before the master answers, a
  // forger sends a refusal naming it.
  Participant c(bus, 7001, kKey, true, "t-new", true);
  sd::RecordWriter why;
  why.str("t-new").str("go away");
  bus.log.push_back({false, "forger", record(5, "forger", 1, why.buf())});
  settle({&a, &c});
  CHECK_FALSE(c.rec.refused_me);
  CHECK(c.rec.events == std::vector<std::string>{"join 7001 [7000 7001]"});
}

TEST_CASE("without history (corosync), a newcomer learns where departed senders stand too") {
  Bus bus;
  Participant a(bus, 7000, kKey, false);
  a.proto->on_alone();  // (corosync says so when a process is alone in the group)
  settle({&a});
  REQUIRE(a.rec.events == std::vector<std::string>{"join 7000 [7000] founder"});
  Participant b(bus, 7001, kKey, false);
  settle({&a, &b});
  REQUIRE(b.proto->broadcast({'m'}).ok());
  settle({&a, &b});
  size_t b_msg = bus.log.size() - 1;
  b.transport->crash();
  settle({&a});
  // c joins after b left: it learns b's sequence from the master.
  Participant c(bus, 7002, kKey, false);
  settle({&a, &c});
  REQUIRE(c.rec.events == std::vector<std::string>{"join 7002 [7000 7002]"});
  // d asks to join, and b's message is replayed (by someone who can forge
  // b's origin) between d's JOIN and the master's answer: every member
  // drops it, so the members keep agreeing that the answer is valid. (d
  // itself has no watermarks before the answer: that window is what
  // corosync's own crypto closes; docs/PROTOCOL.md "Authenticated
  // membership".)
  Participant d(bus, 7003, kKey, false);
  bus.log.push_back(bus.log[b_msg]);
  settle({&a, &c, &d});
  CHECK(a.rec.events.back() == "join 7003 [7000 7002 7003]");
  CHECK(c.rec.events.back() == "join 7003 [7000 7002 7003]");
}
