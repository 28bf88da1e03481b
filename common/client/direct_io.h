// DirectIo: a client's object requests sent straight to the object's
// owners instead of through a gateway sheep (docs/PROTOCOL.md §7.8).
//
// It keeps the cluster's node list and epoch (read from the gateway, the
// list known to belong to that epoch), the ring built from them (the one
// every sheep builds, common/ring.h), and one connection per node. A write
// goes to every owner of the object at once and succeeds only when each
// owner answered SUCCESS, which each does after its copy is durable: the
// gateway's rule. A read goes to one owner, and only when the gateway is
// not an owner itself (else the gateway path is already one hop).
//
// Nothing here ever fails a request for good: any other outcome (an epoch
// that moved, a refused lock, a dead owner, a connection that cannot be
// made) returns an error and the caller sends the same request through the
// gateway, which retries across epochs and gives the authoritative answer.
// An answer from another epoch marks the view stale; it is read again at
// most every kRefreshInterval, and until then requests go through the
// gateway.
//
// Thread safe: the view is swapped whole. Each thread is given one of
// `slots` connections per node (round robin on its first request, made on
// first use), so that with as many slots as threads every caller reads its
// own replies, as ClientPool does for the gateway (docs/PERFORMANCE.md).
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
  // endpoint names the gateway (TCP only: over a unix socket the gateway
  // is not found in the list, and reads stay on it). It must outlive this.
  // `slots`: connections per node (at least 1).
  DirectIo(SheepClient& gateway, unsigned slots);
  ~DirectIo();
  DirectIo(const DirectIo&) = delete;
  DirectIo& operator=(const DirectIo&) = delete;

  // Writes len bytes at offset of data object oid (kept in `copies` whole
  // copies) on every owner, carrying the writer's lock token. Success only
  // when every owner stored it durably; any error: write through the
  // gateway instead (a write is idempotent, so copies written twice are
  // harmless).
  Status write(uint64_t oid, const void* buf, uint32_t len, uint32_t offset, uint8_t copies,
               uint64_t lock_token);
  // Reads from one owner when the gateway holds no copy. Any error: read
  // through the gateway instead.
  Status read(uint64_t oid, void* buf, uint32_t len, uint32_t offset, uint8_t copies);

  // Requests answered directly, and those handed back to the gateway.
  uint64_t direct_requests() const { return direct_.load(); }
  uint64_t fallbacks() const { return fallbacks_.load(); }

  // Error answers, new epochs and failed connections refresh the view no
  // more often than this.
  static constexpr std::chrono::milliseconds kRefreshInterval{200};
  // An owner that does not answer within this is given up (the gateway
  // then waits for it, or for the next epoch).
  static constexpr std::chrono::seconds kCallTimeout{30};

 private:
  using Clock = std::chrono::steady_clock;
  struct View {
    View(uint32_t e, std::vector<SdNode> nodes, unsigned slots);
    const uint32_t epoch;
    const VnodeRing ring;
    int gateway = -1;  // the gateway's index in ring.nodes(), -1 if not found
    // Per node, whether it answered when the view was made: the gateway
    // takes the objects of one that did not.
    std::vector<bool> reachable;
    // [node * slots + slot]: the connections made so far (owned by conns_).
    std::unique_ptr<std::atomic<SheepClient*>[]> conns;
  };

  // The current view, read again first when it is stale (nullptr: none
  // usable now).
  std::shared_ptr<const View> view();
  bool refresh();
  // Marks the view stale when an answer came from another epoch or
  // refused the request for the placement.
  void note(const View& v, uint32_t rsp_epoch, Res result);
  // The calling thread's connection to node `index` of v (nullptr: none
  // could be made; the view is then marked stale).
  SheepClient* connection(const View& v, int index);
  // (mu_ held) The connection of `slot` to `node`, made if need be.
  SheepClient* connect_locked(const SdNode& node, unsigned slot);

  SheepClient& gateway_;
  const unsigned slots_;
  std::mutex mu_;  // guards view_, stale_, next_refresh_, conns_; one refresh at a time
  std::shared_ptr<const View> view_;
  bool stale_ = true;
  Clock::time_point next_refresh_{};
  // Connections by endpoint and slot, kept across views so an epoch change
  // does not reconnect every node.
  std::map<std::string, std::unique_ptr<SheepClient>> conns_;
  std::atomic<bool> stale_hint_{true};  // stale_, readable without mu_
  std::atomic<uint64_t> direct_{0}, fallbacks_{0};
};

}  // namespace sd
