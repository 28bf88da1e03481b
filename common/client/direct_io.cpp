// Object requests from a client straight to the owners.
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

// Whether an owner's answer says the client placed the object under a
// ring that is no longer the cluster's.
bool placement_moved(Res r) {
  return r == Res::OldNodeVer || r == Res::NewNodeVer || r == Res::NetworkError;
}

}  // namespace

DirectIo::View::View(uint32_t e, std::vector<SdNode> nodes, unsigned slots)
    : epoch(e), ring(std::move(nodes)), reachable(ring.nodes().size()),
      conns(new std::atomic<SheepClient*>[ring.nodes().size() * slots]) {
  for (size_t i = 0; i < ring.nodes().size() * slots; i++) conns[i].store(nullptr);
}

DirectIo::DirectIo(SheepClient& gateway, unsigned slots)
    : gateway_(gateway), slots_(slots ? slots : 1) {}

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
  if (!refresh()) return nullptr;
  return view_;
}

// (mu_ held.) The node list is the epoch's only if the epoch did not move
// between two answers of the gateway, the list read in between: each
// reply's epoch is read after its handler took the list.
bool DirectIo::refresh() {
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
  auto v = std::make_shared<View>(epoch, nodes, slots_);
  const Endpoint& gw = gateway_.endpoint();
  for (size_t i = 0; i < nodes.size(); i++) {
    if (gw.unix_path.empty() && nodes[i].nid.port == gw.port && addr_str(nodes[i].nid.addr) == gw.host)
      v->gateway = int(i);
    // One connection tells whether the node can be reached; the other
    // slots' are made when a thread first needs them.
    if (nodes[i].nr_vnodes) v->reachable[i] = connect_locked(nodes[i], 0) != nullptr;
  }
  std::atomic_store(&view_, std::shared_ptr<const View>(std::move(v)));
  stale_ = false;
  stale_hint_.store(false, std::memory_order_release);
  return true;
}

SheepClient* DirectIo::connect_locked(const SdNode& node, unsigned slot) {
  Endpoint ep;
  ep.host = addr_str(node.nid.addr);
  ep.port = node.nid.port;
  std::string key = ep.str() + "#" + std::to_string(slot);
  auto it = conns_.find(key);
  if (it != conns_.end()) return it->second.get();  // a broken one reconnects on its next call
  std::unique_ptr<SheepClient> c = SheepClient::connect(ep);
  if (!c) return nullptr;  // tried again at the next refresh
  c->set_call_timeout(kCallTimeout);
  return conns_.emplace(key, std::move(c)).first->second.get();
}

SheepClient* DirectIo::connection(const View& v, int index) {
  if (!v.reachable[index]) return nullptr;
  const unsigned slot = thread_slot % slots_;
  std::atomic<SheepClient*>& a = v.conns[size_t(index) * slots_ + slot];
  if (SheepClient* c = a.load(std::memory_order_acquire)) return c;
  SheepClient* c;
  {
    std::lock_guard<std::mutex> lk(mu_);
    c = connect_locked(v.ring.nodes()[index], slot);
  }
  if (c) a.store(c, std::memory_order_release);
  else note(v, v.epoch, Res::NetworkError);
  return c;
}

void DirectIo::note(const View& v, uint32_t rsp_epoch, Res result) {
  if (rsp_epoch == v.epoch && !placement_moved(result)) return;
  std::lock_guard<std::mutex> lk(mu_);
  if (view_.get() != &v) return;  // already replaced
  stale_ = true;
  stale_hint_.store(true, std::memory_order_release);
}

Status DirectIo::write(uint64_t oid, const void* buf, uint32_t len, uint32_t offset,
                       uint8_t copies, uint64_t lock_token) {
  std::shared_ptr<const View> v = copies && lock_token ? view() : nullptr;
  Placement p;
  if (v) p = v->ring.place(oid, copies);
  // Fewer zones than copies: the gateway decides (a strict cluster halts).
  SheepClient* conns[32];
  bool placed = v && p.count == copies;
  for (int i = 0; placed && i < p.count; i++) placed = (conns[i] = connection(*v, p.node[i]));
  if (!placed) {
    fallbacks_.fetch_add(1, std::memory_order_relaxed);
    return err(Res::NetworkError);
  }
  std::unique_ptr<SheepClient::Ticket> tickets[32];
  SdReq req = request::direct_object(kOpDirectWrite, v->epoch, oid, len, offset, copies,
                                     lock_token);
  for (int i = 0; i < p.count; i++) tickets[i] = conns[i]->submit(req, buf, nullptr);
  Res worst = Res::Success;
  for (int i = 0; i < p.count; i++) {
    auto rsp = conns[i]->wait(std::move(tickets[i]));
    Res r = rsp.ok() ? Res(rsp->result) : rsp.code();
    note(*v, rsp.ok() ? rsp->epoch : v->epoch, r);
    if (r != Res::Success) worst = r;
  }
  if (worst != Res::Success) {
    fallbacks_.fetch_add(1, std::memory_order_relaxed);
    return err(worst);
  }
  direct_.fetch_add(1, std::memory_order_relaxed);
  return {};
}

Status DirectIo::read(uint64_t oid, void* buf, uint32_t len, uint32_t offset, uint8_t copies) {
  std::shared_ptr<const View> v = copies ? view() : nullptr;
  if (!v) return err(Res::NetworkError);
  Placement p = v->ring.place(oid, copies);
  if (!p.count) return err(Res::NetworkError);
  for (int i = 0; i < p.count; i++)
    if (p.node[i] == v->gateway) return err(Res::NoSupport);  // one hop through it already
  int pick = p.node[spread() % unsigned(p.count)];
  SheepClient* c = connection(*v, pick);
  if (!c) {
    fallbacks_.fetch_add(1, std::memory_order_relaxed);
    return err(Res::NetworkError);
  }
  auto rsp = c->call(request::direct_object(kOpDirectRead, v->epoch, oid, len, offset, copies),
                     nullptr, buf);
  Res r = rsp.ok() ? Res(rsp->result) : rsp.code();
  note(*v, rsp.ok() ? rsp->epoch : v->epoch, r);
  if (r == Res::Success && rsp->data_length != len) r = Res::Eio;
  if (r != Res::Success) {
    fallbacks_.fetch_add(1, std::memory_order_relaxed);
    return err(r);
  }
  direct_.fetch_add(1, std::memory_order_relaxed);
  return {};
}

}  // namespace sd
