// Fuzz target: what the cluster driver delivers. Each input is a list of
// steps, each one of:
//   - a record from a named origin into a MembershipProtocol (with or
//     without a cluster key) over a transport that echoes its own sends
//     back in order, as every medium does: JOIN, JOIN_RESPONSE, FOUND,
//     MSG, REFUSAL decoding, sealing and sequence checks;
//   - a participant gone, a tick, "alone";
//   - a group message (daemon/group/group_messages.cpp) or a join request
//     (check_join's decoding of the newcomer's info) into the Group of a
//     whole in-process sheep (sheep_rig.h). SHUTDOWN is rewritten, since it
//     only stops the sheep.
// Step encoding: kind (1 byte), origin (1 byte), length (2 bytes LE),
// bytes.
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "cluster/membership_protocol.h"
#include "cluster/transport.h"
#include "group/group.h"
#include "proto/node.h"
#include "sheep_rig.h"

namespace {

using sd::SdNode;

SdNode node_of(uint8_t i) {
  SdNode n{};
  sd::parse_addr("127.0.0.1", n.nid.addr);
  n.nid.port = uint16_t(7000 + (i % 8));
  n.nr_vnodes = 128;
  return n;
}

// A medium with one participant of ours: what it sends comes back to it
// in order (run after each step), like every ordered transport.
class EchoTransport : public sd::OrderedTransport {
 public:
  sd::Result<std::string> start(sd::TransportEvents* events) override {
    events_ = events;
    return std::string("self");
  }
  sd::Status send(const std::vector<char>& rec) override {
    if (pending_.size() < 64) pending_.push_back(rec);  // bounded: a flood is no finding
    return {};
  }
  void stop() override {}
  bool has_history() const override { return true; }
  void echo() {
    for (int i = 0; i < 64 && !pending_.empty(); i++) {
      std::vector<char> rec = std::move(pending_.front());
      pending_.pop_front();
      events_->on_record("self", rec);
    }
    pending_.clear();
  }

 private:
  sd::TransportEvents* events_ = nullptr;
  std::deque<std::vector<char>> pending_;
};

// The events a Group would get, accepted and dropped (the Group's own
// decoding is fuzzed through the rig's sheep).
struct Sink : sd::ClusterEvents {
  bool check_join(const SdNode&, const std::vector<char>&, std::vector<char>* reply,
                  std::string*) override {
    *reply = {'y'};
    return true;
  }
  void on_join(const std::vector<SdNode>&, const SdNode&, const std::vector<char>&) override {}
  void on_join_refused(const std::string&) override {}
  void on_leave(const std::vector<SdNode>&, const SdNode&) override {}
  void on_message(const SdNode&, const std::vector<char>&) override {}
  void on_driver_failure(const std::string&) override {}
  void on_suspended(const std::string&) override {}
  std::vector<char> join_info() override { return {}; }
};

struct Participant {
  EchoTransport* transport;
  std::unique_ptr<sd::MembershipProtocol> protocol;
  Sink sink;
  explicit Participant(sd::ClusterKey key) {
    auto t = std::make_unique<EchoTransport>();
    transport = t.get();
    protocol = std::make_unique<sd::MembershipProtocol>(std::move(t), "fuzz", std::move(key));
    (void)protocol->join(node_of(0), &sink);
    transport->echo();
    protocol->on_alone();
    transport->echo();
  }
};

const char* const kOrigins[] = {"self", "p1-1", "p2-1", "p3-7", "", "corosync:1:2"};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  sdfuzz::SheepRig::instance();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Participant open_cluster{sd::ClusterKey{}};
  static Participant keyed_cluster{sd::ClusterKey::from_bytes(std::string(32, 'k'))};
  sd::Group& group = sdfuzz::SheepRig::instance().sheep().group;
  size_t pos = 0;
  while (size - pos >= 4) {
    uint8_t kind = data[pos], origin = data[pos + 1];
    size_t len = size_t(data[pos + 2]) | size_t(data[pos + 3]) << 8;
    pos += 4;
    if (len > size - pos) len = size - pos;
    std::vector<char> bytes(data + pos, data + pos + len);
    pos += len;
    Participant& p = (origin & 0x80) ? keyed_cluster : open_cluster;
    std::string from = kOrigins[(origin & 0x7f) % (sizeof(kOrigins) / sizeof(kOrigins[0]))];
    switch (kind % 6) {
      case 0: p.protocol->on_record(from, bytes); break;
      case 1: if (from != "self") p.protocol->on_gone(from); break;
      case 2: p.protocol->on_tick(); break;
      case 3: p.protocol->on_alone(); break;
      case 4: {
        // A group message; the first four bytes are its type.
        if (bytes.size() >= 4) {
          uint32_t type;
          std::memcpy(&type, bytes.data(), 4);
          if (type == 2) bytes[0] = 6;  // kShutdown → kBarrier
        }
        group.on_message(node_of(origin), bytes);
        break;
      }
      case 5: {
        std::vector<char> reply;
        std::string why;
        group.check_join(node_of(origin), bytes, &reply, &why);
        break;
      }
    }
    p.transport->echo();
  }
  return 0;
}
