// DirectIo: requests for objects the gateway sheep holds no copy of sent
// to a node that holds one instead (docs/PROTOCOL.md §7.8): a writer's
// writes to the object's first owner, reads to a random owner. Only when
// the gateway is known (reached over TCP at an address of the node list).
//
// It keeps the cluster's node list and epoch (read from the gateway, the
// list known to belong to that epoch) and the ring built from them (the
// one every sheep builds, common/ring.h). A write goes as DIRECT_WRITE,
// with the token of the writer's VDI lock, to the object's first owner,
// which checks the lock and writes every copy as a gateway would: one
// node decides, so the copies never disagree on whether it was allowed.
// A read goes as READ_OBJ to a random owner, which answers from its own
// copy.
//
// Nothing here fails a request for good: any other outcome (a refusal, a
// node that cannot be reached, a timeout) returns an error and the caller
// sends the same request through the gateway, which gives the
// authoritative answer. A reply from another epoch marks the view stale;
// it is read again at most every kRefreshInterval, and until then
// requests go through the gateway. A node that could not be reached is
// left alone for kNodeRetry.
//
// Thread safe: the view is swapped whole. Each thread is given one of
// kSlots connections per node (round robin on its first request, made on
// first use, outside any lock), so that concurrent callers rarely share a
// connection (docs/PERFORMANCE.md).
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client/sheep_client.h"
#include "net.h"
#include "result.h"
#include "ring.h"

namespace sd {

class DirectIo {
 public:
  // `gateway`: the connection the node list is read through, and whose
  // endpoint names the gateway. It must outlive this.
  explicit DirectIo(SheepClient& gateway);
  ~DirectIo();
  DirectIo(const DirectIo&) = delete;
  DirectIo& operator=(const DirectIo&) = delete;

  // Writes len bytes at offset of data object oid (kept in `copies` whole
  // copies) through its first owner, proving the lock with `lock_token`,
  // when the gateway holds no copy. Any error: write through the gateway
  // instead (a write is idempotent).
  Status write(uint64_t oid, const void* buf, uint32_t len, uint32_t offset, uint8_t copies,
               uint64_t lock_token);
  // Reads from an owner when the gateway is known and holds no copy. Any
  // error: read through the gateway instead.
  Status read(uint64_t oid, void* buf, uint32_t len, uint32_t offset, uint8_t copies);

  // Requests answered through an owner, and those handed back to the
  // gateway after trying.
  uint64_t direct_requests() const { return direct_.load(); }
  uint64_t fallbacks() const { return fallbacks_.load(); }

  static constexpr unsigned kSlots = 4;  // connections per node
  static constexpr std::chrono::milliseconds kRefreshInterval{200};
  static constexpr std::chrono::seconds kNodeRetry{5};
  // An owner that does not answer within this is given up (the gateway
  // then waits for it, or for the next epoch).
  static constexpr std::chrono::seconds kCallTimeout{30};

 private:
  using Clock = std::chrono::steady_clock;
  struct View {
    View(uint32_t e, std::vector<SdNode> nodes) : epoch(e), ring(std::move(nodes)) {}
    const uint32_t epoch;
    const VnodeRing ring;
    int gateway = -1;  // the gateway's index in ring.nodes(), -1 if not found
  };
  struct Node {
    std::mutex mu;  // guards down_until; serialises connecting
    Clock::time_point down_until{};
    // Read and replaced with std::atomic_load/store: a caller keeps the
    // connection it got alive while it uses it.
    std::shared_ptr<SheepClient> slots[kSlots];
  };

  // The current view, read again first when it is stale (nullptr: none
  // usable now).
  std::shared_ptr<const View> view();
  bool refresh_locked();
  // Marks the view stale when a reply came from another epoch.
  void note_epoch(const View& v, uint32_t rsp_epoch);
  // The calling thread's connection to `node` (nullptr: not reachable now).
  std::shared_ptr<SheepClient> connection(const SdNode& node);
  // The connection failed: the node is left alone for kNodeRetry.
  void mark_down(const SdNode& node);
  Node& node_state(const SdNode& node);

  SheepClient& gateway_;
  std::mutex mu_;  // guards view_ (writes), stale_, next_refresh_, nodes_
  std::shared_ptr<const View> view_;
  bool stale_ = true;
  Clock::time_point next_refresh_{};
  std::atomic<bool> stale_hint_{true};  // stale_, readable without mu_
  // Per node address ("host:port"); entries are never removed (their
  // connections may be in use), so at most one per node ever seen.
  std::map<std::string, std::unique_ptr<Node>> nodes_;
  std::atomic<uint64_t> direct_{0}, fallbacks_{0};
};

}  // namespace sd
