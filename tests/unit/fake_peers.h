// Test doubles for the daemon's parts: FakeMembership (a MembershipSource
// whose membership a test publishes), FakePeer (another sheep answering
// the peer opcodes from memory, logging every request), and a temporary
// directory.
//
// Unit tests only.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fake_sheep.h"
#include "group/membership.h"
#include "proto/wire.h"

namespace sdtest {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/var/tmp/sd-unit-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf " + path).c_str()); }
};

inline sd::SdNode node_at(uint16_t port, uint32_t zone) {
  sd::SdNode n{};
  sd::parse_addr("127.0.0.1", n.nid.addr);
  n.nid.port = port;
  n.nr_vnodes = 128;
  n.zone = zone;
  return n;
}

class FakeMembership : public sd::MembershipSource {
 public:
  // Publishes a membership of `nodes` at `epoch`, self being `self`.
  void publish(uint32_t epoch, std::vector<sd::SdNode> nodes, const sd::SdNode& self) {
    sd::sort_nodes(nodes);
    int idx = -1;
    for (size_t i = 0; i < nodes.size(); i++)
      if (sd::same_node(nodes[i], self)) idx = int(i);
    auto m = std::make_shared<const sd::Membership>(epoch, std::move(nodes), idx);
    {
      std::lock_guard<std::mutex> lk(mu_);
      m_ = m;
    }
    cv_.notify_all();
  }
  sd::MembershipPtr membership() const override {
    std::lock_guard<std::mutex> lk(mu_);
    return m_;
  }
  bool wait_for_epoch(uint32_t e, std::chrono::milliseconds t) const override {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, t, [&] { return m_->epoch >= e; });
  }
  void wait_for_change(const sd::Membership* seen, std::chrono::milliseconds t) const override {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait_for(lk, t, [&] { return m_.get() != seen; });
  }
  bool strict() const override { return false; }
  bool cluster_recovered() const override { return recovered; }
  bool recovered = true;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  sd::MembershipPtr m_ = std::make_shared<const sd::Membership>(0, std::vector<sd::SdNode>{}, -1);
};

// A peer sheep: live objects and stale copies in memory, the peer opcodes
// answered as the daemon answers them (a recovery read serves the live
// copy, else a stale copy current through at least tgt_epoch).
class FakePeer {
 public:
  struct Copy {
    std::vector<char> data;
    uint32_t epoch;  // live: 0 (current); stale: the epoch it was current at
  };
  explicit FakePeer(uint32_t zone) : zone_(zone), server_([this](int fd) { serve(fd); }) {}

  sd::SdNode node() const { return node_at(server_.port(), zone_); }
  void put_live(uint64_t oid, std::vector<char> data) {
    std::lock_guard<std::mutex> lk(mu_);
    live_[oid] = std::move(data);
  }
  void put_stale(uint64_t oid, uint32_t epoch, std::vector<char> data) {
    std::lock_guard<std::mutex> lk(mu_);
    stale_[oid] = Copy{std::move(data), epoch};
  }
  bool has_live(uint64_t oid) {
    std::lock_guard<std::mutex> lk(mu_);
    return live_.count(oid) != 0;
  }
  // The next n object requests are answered with `r` instead.
  void fail_next(int n, sd::Res r) {
    std::lock_guard<std::mutex> lk(mu_);
    fail_count_ = n;
    fail_res_ = r;
  }
  struct Seen {
    uint8_t opcode;
    uint32_t epoch;
    uint64_t oid;
    uint32_t tgt_epoch;
  };
  std::vector<Seen> log() {
    std::lock_guard<std::mutex> lk(mu_);
    return log_;
  }
  uint32_t current_epoch = 1;  // the epoch this peer answers with

 private:
  void serve(int fd) {
    sd::SdReq req;
    std::vector<char> payload;
    while (recv_req(fd, &req, &payload)) {
      std::unique_lock<std::mutex> lk(mu_);
      log_.push_back({req.opcode, req.epoch, req.obj.oid, req.obj.tgt_epoch});
      if (fail_count_ > 0 && req.opcode >= sd::kOpCreateAndWritePeer &&
          req.opcode <= sd::kOpRemovePeer) {
        fail_count_--;
        sd::Res r = fail_res_;
        lk.unlock();
        send_rsp(fd, req, r);
        continue;
      }
      uint64_t oid = req.obj.oid;
      switch (req.opcode) {
        case sd::kOpCreateAndWritePeer:
        case sd::kOpWritePeer: {
          auto& obj = live_[oid];
          if (obj.size() < req.obj.offset + payload.size()) obj.resize(req.obj.offset + payload.size());
          std::memcpy(obj.data() + req.obj.offset, payload.data(), payload.size());
          lk.unlock();
          send_rsp(fd, req, sd::Res::Success);
          break;
        }
        case sd::kOpRemovePeer:
          live_.erase(oid);
          lk.unlock();
          send_rsp(fd, req, sd::Res::Success);
          break;
        case sd::kOpReadPeer: {
          std::vector<char> out;
          uint32_t copy_epoch = 0;
          bool found = false;
          if (live_.count(oid)) {
            out = live_[oid];
            copy_epoch = current_epoch;
            found = true;
          } else if ((req.flags & sd::kFlagRecovery) && stale_.count(oid) &&
                     stale_[oid].epoch >= req.obj.tgt_epoch) {
            out = stale_[oid].data;
            copy_epoch = stale_[oid].epoch;
            found = true;
          }
          lk.unlock();
          if (!found) {
            send_rsp(fd, req, sd::Res::NoObj);
            break;
          }
          out.resize(req.data_length);
          sd::SdRsp rsp{};
          rsp.obj.copy_epoch = copy_epoch;
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
  std::mutex mu_;
  std::map<uint64_t, std::vector<char>> live_;
  std::map<uint64_t, Copy> stale_;
  std::vector<Seen> log_;
  int fail_count_ = 0;
  sd::Res fail_res_ = sd::Res::Success;
  FakeServer server_;  // last: it serves from the members above
};

}  // namespace sdtest
