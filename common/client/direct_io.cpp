// A writer's writes through each object's first owner, reads from owners.
#include "client/direct_io.h"

#include <random>

#include "client/requests.h"
#include "proto/node.h"

namespace sd {

namespace {

uint32_t spread() {
  thread_local std::minstd_rand rng(std::random_device{}());
  return uint32_t(rng());
}

// Each thread's slot, given round robin on its first request.
std::atomic<unsigned> next_thread{0};
thread_local unsigned thread_slot = next_thread.fetch_add(1, std::memory_order_relaxed);

bool holds(const Placement& p, int node) {
  for (int i = 0; i < p.count; i++)
    if (p.node[i] == node) return true;
  return false;
}

Endpoint endpoint_of(const SdNode& node) {
  Endpoint ep;
  ep.host = addr_str(node.nid.addr);
  ep.port = node.nid.port;
  return ep;
}

}  // namespace

DirectIo::DirectIo(SheepClient& gateway) : gateway_(gateway) {}

DirectIo::~DirectIo() = default;

std::shared_ptr<const DirectIo::View> DirectIo::view() {
  if (!stale_hint_.load(std::memory_order_acquire)) return std::atomic_load(&view_);
  // Another thread is reading the list: this request takes the gateway.
  std::unique_lock<std::mutex> lk(mu_, std::try_to_lock);
  if (!lk.owns_lock()) return nullptr;
  if (!stale_) return view_;
  auto now = Clock::now();
  if (now < next_refresh_) return nullptr;
  next_refresh_ = now + kRefreshInterval;
  if (!refresh_locked()) return nullptr;
  return view_;
}

// The node list is the epoch's only if the epoch did not move between two
// answers of the gateway, the list read in between: each reply's epoch is
// read after its handler took the list. Connects to nothing.
bool DirectIo::refresh_locked() {
  std::vector<SdNode> nodes(kMaxNodes);
  uint32_t epoch = 0;
  for (int i = 0; i < 2; i++) {
    auto rsp = gateway_.call(request::node_list(uint32_t(nodes.size())), nullptr, nodes.data());
    if (!rsp.ok() || Res(rsp->result) != Res::Success) return false;
    if (i == 0) {
      epoch = rsp->epoch;
      continue;
    }
    if (rsp->epoch != epoch || !epoch) return false;
    nodes.resize(std::min<size_t>(rsp->node.nr_nodes, rsp->data_length / sizeof(SdNode)));
  }
  auto v = std::make_shared<View>(epoch, nodes);
  const Endpoint& gw = gateway_.endpoint();
  for (size_t i = 0; i < nodes.size() && gw.unix_path.empty(); i++)
    if (nodes[i].nid.port == gw.port && addr_str(nodes[i].nid.addr) == gw.host) v->gateway = int(i);
  std::atomic_store(&view_, std::shared_ptr<const View>(std::move(v)));
  stale_ = false;
  stale_hint_.store(false, std::memory_order_release);
  return true;
}

void DirectIo::note_epoch(const View& v, uint32_t rsp_epoch) {
  if (rsp_epoch == v.epoch) return;
  std::lock_guard<std::mutex> lk(mu_);
  if (view_.get() != &v) return;  // already replaced
  stale_ = true;
  stale_hint_.store(true, std::memory_order_release);
}

DirectIo::Node& DirectIo::node_state(const SdNode& node) {
  std::lock_guard<std::mutex> lk(mu_);
  auto& n = nodes_[endpoint_of(node).str()];
  if (!n) n = std::make_unique<Node>();
  return *n;
}

std::shared_ptr<SheepClient> DirectIo::connection(const SdNode& node) {
  Node& n = node_state(node);
  std::shared_ptr<SheepClient>& slot = n.slots[thread_slot % kSlots];
  if (auto c = std::atomic_load(&slot)) return c->broken() ? nullptr : c;
  std::lock_guard<std::mutex> lk(n.mu);
  if (auto c = std::atomic_load(&slot)) return c->broken() ? nullptr : c;
  if (Clock::now() < n.down_until) return nullptr;
  std::shared_ptr<SheepClient> c = SheepClient::connect(endpoint_of(node));
  if (!c) {
    n.down_until = Clock::now() + kNodeRetry;
    return nullptr;
  }
  // Never reconnects by itself (a reconnection would block a caller):
  // mark_down drops it and a later call makes a new one.
  c->set_auto_reconnect(false);
  c->set_call_timeout(kCallTimeout);
  std::atomic_store(&slot, c);
  return c;
}

void DirectIo::mark_down(const SdNode& node) {
  Node& n = node_state(node);
  std::lock_guard<std::mutex> lk(n.mu);
  n.down_until = Clock::now() + kNodeRetry;
  // Failed connections are dropped (callers still holding one keep it
  // alive) and made again after the pause.
  for (auto& slot : n.slots) {
    auto c = std::atomic_load(&slot);
    if (c && c->broken()) std::atomic_store(&slot, std::shared_ptr<SheepClient>());
  }
}

Status DirectIo::write(uint64_t oid, const void* buf, uint32_t len, uint32_t offset,
                       uint8_t copies, uint64_t lock_token) {
  std::shared_ptr<const View> v = lock_token ? view() : nullptr;
  Placement p;
  if (v) p = v->ring.place(oid, copies);
  // Through the gateway when it holds a copy (going elsewhere saves
  // nothing), when it is not known, or when there is no placement (the
  // gateway then decides: halt, wait, or retry).
  if (!v || v->gateway < 0 || !p.count || holds(p, v->gateway)) return err(Res::NoSupport);
  const SdNode& node = v->ring.nodes()[p.node[0]];
  std::shared_ptr<SheepClient> c = connection(node);
  Res r = Res::NetworkError;
  if (c) {
    auto rsp = c->call(request::direct_write(oid, len, offset, copies, lock_token), buf, nullptr);
    r = rsp.ok() ? Res(rsp->result) : rsp.code();
    if (rsp.ok()) note_epoch(*v, rsp->epoch);
    if (!rsp.ok()) mark_down(node);
  }
  if (r != Res::Success) {
    fallbacks_.fetch_add(1, std::memory_order_relaxed);
    return err(r);
  }
  direct_.fetch_add(1, std::memory_order_relaxed);
  return {};
}

Status DirectIo::read(uint64_t oid, void* buf, uint32_t len, uint32_t offset, uint8_t copies) {
  std::shared_ptr<const View> v = copies ? view() : nullptr;
  if (!v || v->gateway < 0) return err(Res::NoSupport);
  Placement p = v->ring.place(oid, copies);
  if (!p.count || holds(p, v->gateway)) return err(Res::NoSupport);  // one hop through it already
  const SdNode& node = v->ring.nodes()[p.node[spread() % unsigned(p.count)]];
  std::shared_ptr<SheepClient> c = connection(node);
  Res r = Res::NetworkError;
  if (c) {
    SdRsp rsp;
    Status st = c->read_obj(oid, buf, len, offset, copies, &rsp);
    r = st.code();
    if (st.ok()) note_epoch(*v, rsp.epoch);
    if (r == Res::NetworkError) mark_down(node);
  }
  if (r != Res::Success) {
    fallbacks_.fetch_add(1, std::memory_order_relaxed);
    return err(r);
  }
  direct_.fetch_add(1, std::memory_order_relaxed);
  return {};
}

}  // namespace sd
