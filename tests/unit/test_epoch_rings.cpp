// EpochRings across a replaced history: a record fetched from a member
// (GET_EPOCH) while a format or a first join clears the rings is neither
// saved in the new history's log nor kept as its ring. (The bound on the
// rings kept: test_scale.cpp.)
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "base/file_util.h"
#include "fake_peers.h"
#include "group/epoch_log.h"
#include "group/epoch_rings.h"
#include "peers/peer_pool.h"

using namespace sdtest;

namespace {

// A member that answers GET_EPOCH with `record`'s bytes once its gate
// opens (the gate starts closed).
class GatedEpochPeer {
 public:
  explicit GatedEpochPeer(std::vector<char> record)
      : record_(std::move(record)), server_([this](int fd) { serve(fd); }) {}
  ~GatedEpochPeer() { open(); }
  sd::SdNode node() const { return node_at(server_.port(), 2); }
  bool wait_asked() {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, std::chrono::seconds(20), [&] { return asked_; });
  }
  void open() {
    std::lock_guard<std::mutex> lk(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  void serve(int fd) {
    sd::SdReq req;
    std::vector<char> payload;
    while (recv_req(fd, &req, &payload)) {
      if (req.opcode != sd::kOpGetEpoch) {
        send_rsp(fd, req, sd::Res::InvalidParms);
        continue;
      }
      std::unique_lock<std::mutex> lk(mu_);
      asked_ = true;
      cv_.notify_all();
      cv_.wait(lk, [&] { return open_; });
      lk.unlock();
      send_rsp(fd, req, sd::Res::Success, record_.data(), uint32_t(record_.size()));
    }
  }
  std::vector<char> record_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool asked_ = false, open_ = false;
  FakeServer server_;  // last: it serves from the members above
};

}  // namespace

TEST_CASE("epoch rings: a record fetched across a clear() is not saved, nor its ring kept") {
  // The old history's epoch 3, as a member of it would send it.
  TempDir old_dir;
  REQUIRE(sd::make_dirs(old_dir.path + "/epoch"));
  sd::EpochLog old_log{old_dir.path + "/epoch"};
  sd::SdNode self = node_at(7000, 1);
  sd::SdNode other = node_at(7001, 1);
  REQUIRE(old_log.save(sd::EpochRecord{3, 3, {self, other}}).ok());
  auto bytes = old_log.raw(3);
  REQUIRE(bytes.ok());
  GatedEpochPeer peer(*bytes);

  TempDir dir;
  REQUIRE(sd::make_dirs(dir.path + "/epoch"));
  sd::EpochLog epochs{dir.path + "/epoch"};  // lacks epoch 3
  FakeMembership members;
  members.publish(5, {self, peer.node()}, self);
  sd::PeerPool peers;
  sd::EpochRings rings{epochs, peers, members};

  std::shared_ptr<const sd::VnodeRing> got;
  std::thread lookup([&] { got = rings.ring(3); });
  REQUIRE(peer.wait_asked());
  rings.clear();  // a format: the history the lookup began in is gone
  peer.open();
  lookup.join();
  CHECK(got == nullptr);
  CHECK(!epochs.load(3).ok());
  CHECK(rings.cached_vnodes() == 0);

  // Without a clear in between, the same lookup fetches, saves and keeps.
  auto again = rings.ring(3);
  REQUIRE(again);
  CHECK(again->nodes().size() == 2);
  CHECK(epochs.load(3).ok());
  CHECK(rings.cached_vnodes() == again->nr_vnodes());
}
