// Routing object requests to their owners.
#include "gateway/gateway.h"

#include <cassert>
#include <cinttypes>
#include <cstring>
#include <memory>
#include <random>

#include "base/log.h"
#include "oid.h"
#include "group/object_policy.h"
#include "peers/peer_calls.h"
#include "peers/peer_pool.h"
#include "recovery/local_replica.h"
#include "recovery/object_recovery.h"
#include "gateway/retry_policy.h"

namespace sd {

namespace {

// Spreads reads over the copies; cheap, per thread, seeded once.
uint32_t spread() {
  thread_local std::minstd_rand rng(std::random_device{}());
  return uint32_t(rng());
}

}  // namespace

Status Gateway::read(uint64_t oid, void* buf, uint32_t len, uint32_t offset, uint8_t copies) {
  ObjectLayout l = policy_.layout(oid, copies);
  assert(uint64_t(offset) + len <= l.size);
  if (l.shape) return ec_read(*l.shape, oid, buf, len, offset);
  Res last = Res::NoObj;
  for (auto began = std::chrono::steady_clock::now();; l = policy_.layout(oid, copies)) {
    MembershipPtr m = members_.membership();
    Placement p = m->ring.place(oid, l.copies);
    if (!p.count) return err(Res::Halt);
    // The local copy first, then the others from a random start.
    int order[32];
    int n = 0;
    for (int i = 0; i < p.count; i++)
      if (m->is_self(p.node[i])) order[n++] = p.node[i];
    int start = p.count > 1 ? int(spread() % unsigned(p.count)) : 0;
    for (int i = 0; i < p.count; i++) {
      int idx = p.node[(start + i) % p.count];
      if (!m->is_self(idx)) order[n++] = idx;
    }
    bool retry = false;
    for (int i = 0; i < n; i++) {
      Status st;
      if (m->is_self(order[i])) {
        st = local_read(oid, buf, len, offset);
      } else {
        auto peer = peers_.get(m->nodes[order[i]].nid);
        st = peer ? peer::read(*peer, m->epoch, oid, buf, len, offset) : err(Res::NetworkError);
      }
      if (st.ok()) return st;
      last = st.code();
      if (retryable(last)) retry = true;
    }
    if (!retry || !may_retry(began)) break;
    members_.wait_for_change(m.get(), kSettle);  // an epoch change in progress
  }
  return err(last);
}

Status Gateway::write_all(Kind kind, uint64_t oid, const Payload& data, uint8_t copies) {
  Res last = Res::Success;
  for (auto start = std::chrono::steady_clock::now();;) {
    MembershipPtr m = members_.membership();
    // Peers check the count and the coding we place the object with.
    const ObjectLayout l = policy_.layout(oid, copies);
    const int nr_copies = l.copies;
    const uint8_t coding = l.copy_policy();
    Placement p = m->ring.place(oid, nr_copies);
    if (!p.count) return err(Res::Halt);
    if (kind != Kind::Remove) {
      // A strict cluster writes only with every copy in a zone of its own;
      // an erasure-coded object needs at least its D data strips placed.
      if (members_.strict() && p.count < nr_copies) return err(Res::Halt);
      if (p.count < data.min_owners) return err(Res::SystemError);
    }
    // Send to every remote copy first, then write the local one, then
    // collect: all copies are written in parallel.
    struct Remote {
      std::shared_ptr<SheepClient> peer;
      std::unique_ptr<SheepClient::Ticket> ticket;
    };
    Remote remote[32];
    Res results[32];
    uint8_t op = kind == Kind::Create  ? kOpCreateAndWritePeer
                 : kind == Kind::Write ? kOpWritePeer
                                       : kOpRemovePeer;
    int local = -1;
    for (int i = 0; i < p.count; i++) {
      results[i] = Res::Success;
      int idx = p.node[i];
      if (m->is_self(idx)) {
        local = i;
        continue;
      }
      remote[i].peer = peers_.get(m->nodes[idx].nid);
      if (!remote[i].peer) {
        results[i] = Res::NetworkError;
        continue;
      }
      int piece = data.strips ? i : kWholeObject;
      const void* buf = data.strips ? data.strips[i] : data.buf;
      SdReq req = peer::object_req(op, m->epoch, oid, kind == Kind::Remove ? 0 : data.len,
                                   data.offset, uint8_t(nr_copies), piece, coding);
      remote[i].ticket = remote[i].peer->submit(req, buf, nullptr);
    }
    if (local >= 0) {
      Status st;
      int piece = data.strips ? local : kWholeObject;
      const void* buf = data.strips ? data.strips[local] : data.buf;
      switch (kind) {
        case Kind::Create:
          st = replica_.create(oid, m->epoch, buf, data.len, data.offset, piece);
          break;
        case Kind::Write: st = local_write(oid, buf, data.len, data.offset, piece); break;
        case Kind::Remove: st = replica_.remove(oid); break;
      }
      results[local] = st.code();
    }
    for (int i = 0; i < p.count; i++) {
      if (!remote[i].ticket) continue;
      auto rsp = remote[i].peer->wait(std::move(remote[i].ticket));
      results[i] = rsp.ok() ? Res(rsp->result) : rsp.code();
    }
    bool retry = false;
    last = Res::Success;
    for (int i = 0; i < p.count; i++) {
      Res r = results[i];
      if (r == Res::Success || (kind == Kind::Remove && r == Res::NoObj)) continue;
      last = r;
      if (retryable(r)) retry = true;
      if (r == Res::NetworkError) peers_.forget(m->nodes[p.node[i]].nid);
    }
    // The epoch moved while the copies were written: owners of the new
    // epoch may have fetched the object before our write landed on the
    // copy they fetched from. Writing again under the new ring is harmless
    // (the same bytes) and reaches them.
    // The same when the object's copy count changed meanwhile
    // (ALTER_VDI_COPY): a new owner may have fetched it before our write.
    if (last == Res::Success && (members_.membership()->epoch != m->epoch ||
                                 policy_.copies_for(oid, copies) != nr_copies)) {
      last = Res::OldNodeVer;
      retry = true;
    }
    if (last == Res::Success) {
      if (kind == Kind::Remove) drop_other_copies(oid, *m, p);
      return {};
    }
    if (!retry || !may_retry(start)) break;
    members_.wait_for_change(m.get(), kSettle);  // an epoch change in progress
  }
  sd_err("%016" PRIx64 ": %s", oid, strerror(last));
  return err(last);
}

bool Gateway::read_local_cached(uint64_t oid, void* buf, uint32_t len, uint32_t offset,
                                uint8_t copies) {
  ObjectLayout l = policy_.layout(oid, copies);
  if (l.shape) return false;  // a node holds strips of those
  MembershipPtr m = members_.membership();
  if (!m->ring.holds(oid, l.copies, m->self_index)) return false;
  return replica_.read_cached(oid, buf, len, offset);
}

template <class Op>
Status Gateway::on_local_copy(uint64_t oid, Op&& op) {
  Status st = op();
  // A copy fetched can be lost again before op runs (the disk it landed
  // on failed and was dropped): fetch once more, a few times at most.
  for (int round = 0; round < 3 && st.code() == Res::NoObj; round++) {
    Status fetched = recovery_.fetch(oid);
    if (fetched.code() == Res::OldNodeVer) return fetched;  // the ring moved on: retry there
    if (!fetched.ok()) return st;
    st = op();
  }
  return st;
}

Status Gateway::local_read(uint64_t oid, void* buf, uint32_t len, uint32_t offset, int piece) {
  return on_local_copy(oid, [&] { return replica_.read(oid, buf, len, offset, piece); });
}

Status Gateway::local_write(uint64_t oid, const void* buf, uint32_t len, uint32_t offset,
                            int piece) {
  return on_local_copy(oid, [&] { return replica_.write(oid, buf, len, offset, piece); });
}

void Gateway::drop_other_copies(uint64_t oid, const Membership& m, const Placement& owners) {
  // Stale copies elsewhere exist only until every node has recovered the
  // epoch; while they may, the other members drop theirs too, so that a
  // removed object is never brought back from one.
  if (members_.cluster_recovered()) return;
  for (size_t i = 0; i < m.nodes.size(); i++) {
    bool owner = false;
    for (int k = 0; k < owners.count; k++) owner |= owners.node[k] == i;
    if (owner || m.is_self(int(i))) continue;
    auto peer = peers_.get(m.nodes[i].nid);
    if (!peer) continue;
    Status st = peer::remove_any_copy(*peer, m.epoch, oid);
    (void)st;  // best effort: a copy left behind is cleaned up later
  }
}

Status Gateway::write(uint64_t oid, const void* buf, uint32_t len, uint32_t offset,
                      uint8_t copies) {
  ObjectLayout l = policy_.layout(oid);
  assert(uint64_t(offset) + len <= l.size);
  if (l.shape) return ec_write(Kind::Write, *l.shape, oid, buf, len, offset, copies);
  return write_all(Kind::Write, oid, {buf, len, offset}, copies);
}

Status Gateway::create_and_write(uint64_t oid, const void* buf, uint32_t len, uint32_t offset,
                                 uint8_t copies, uint64_t cow_oid) {
  ObjectLayout l = policy_.layout(oid);
  const uint64_t size = l.size;
  assert(uint64_t(offset) + len <= size);
  const std::optional<EcShape>& shape = l.shape;
  if (!cow_oid || (offset == 0 && len == size)) {
    if (shape) return ec_write(Kind::Create, *shape, oid, buf, len, offset, copies);
    return write_all(Kind::Create, oid, {buf, len, offset}, copies);
  }
  // Copy-on-write: the whole source object with the new bytes laid over it.
  if (policy_.object_size_of(cow_oid) != size) return err(Res::InvalidParms);
  std::unique_ptr<char[]> whole(new char[size]);
  SD_TRY(read(cow_oid, whole.get(), uint32_t(size), 0, copies));
  if (len) std::memcpy(whole.get() + offset, buf, len);
  if (shape) return ec_write(Kind::Create, *shape, oid, whole.get(), uint32_t(size), 0, copies);
  return write_all(Kind::Create, oid, {whole.get(), uint32_t(size), 0}, copies);
}

Status Gateway::remove(uint64_t oid, uint8_t copies) {
  return write_all(Kind::Remove, oid, {}, copies);
}

}  // namespace sd
