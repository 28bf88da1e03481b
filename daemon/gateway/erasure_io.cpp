// Gateway I/O of erasure-coded data objects (docs/PROTOCOL.md §7.6):
// stripes encoded into D+P strips on write, data strips joined (or the
// missing ones decoded) on read.
#include <cassert>
#include <cinttypes>
#include <cstring>
#include <memory>
#include <vector>

#include "base/log.h"
#include "gateway/gateway.h"
#include "gateway/retry_policy.h"
#include "group/object_policy.h"
#include "peers/peer_calls.h"
#include "peers/peer_pool.h"

namespace sd {

namespace {

uint64_t stripe_floor(uint64_t x) { return x / kEcStripe * kEcStripe; }
uint64_t stripe_ceil(uint64_t x) { return (x + kEcStripe - 1) / kEcStripe * kEcStripe; }

}  // namespace

void Gateway::read_strips(const Membership& m, const Placement& p, uint64_t oid,
                          const std::vector<int>& positions, uint8_t* const* bufs, uint32_t len,
                          uint32_t off, uint8_t copies, uint8_t copy_policy, Res* results) {
  struct Remote {
    std::shared_ptr<SheepClient> peer;
    std::unique_ptr<SheepClient::Ticket> ticket;
  };
  std::vector<Remote> remote(positions.size());
  int local = -1;
  for (size_t i = 0; i < positions.size(); i++) {
    int k = positions[i];
    int idx = p.node[k];
    if (m.is_self(idx)) {
      local = int(i);
      continue;
    }
    remote[i].peer = peers_.get(m.nodes[size_t(idx)].nid);
    if (!remote[i].peer) {
      results[k] = Res::NetworkError;
      continue;
    }
    SdReq req = peer::object_req(kOpReadPeer, m.epoch, oid, len, off, copies, k, copy_policy);
    remote[i].ticket = remote[i].peer->submit(req, nullptr, bufs[k]);
  }
  if (local >= 0) {
    int k = positions[size_t(local)];
    results[k] = local_read(oid, bufs[k], len, off, k).code();
  }
  for (size_t i = 0; i < positions.size(); i++) {
    if (!remote[i].ticket) continue;
    int k = positions[i];
    auto rsp = remote[i].peer->wait(std::move(remote[i].ticket));
    if (!rsp.ok()) {
      results[k] = rsp.code();
      if (results[k] == Res::NetworkError) peers_.forget(m.nodes[p.node[k]].nid);
    } else if (Res(rsp->result) != Res::Success) {
      results[k] = Res(rsp->result);
    } else {
      results[k] = rsp->data_length == len ? Res::Success : Res::Eio;
    }
  }
}

Status Gateway::ec_read(const EcShape& shape, uint64_t oid, void* buf, uint32_t len,
                        uint32_t offset, bool locked) {
  if (!len) return {};
  const int d = shape.data, strips = shape.strips();
  const uint8_t copy_policy = ec_copy_policy(shape);
  const uint64_t lo = stripe_floor(offset), hi = stripe_ceil(uint64_t(offset) + len);
  const uint32_t strip_len = uint32_t((hi - lo) / uint64_t(d));
  const uint32_t strip_off = uint32_t(lo / uint64_t(d));
  // The data strips (as many bytes as the stripes read); the parity only
  // when a data strip is missing.
  std::unique_ptr<uint8_t[]> data_space(new uint8_t[hi - lo]);
  std::unique_ptr<uint8_t[]> parity_space;
  uint8_t* bufs[kEcMaxStrips] = {};
  for (int k = 0; k < d; k++) bufs[k] = data_space.get() + size_t(k) * strip_len;
  Res last = Res::NoObj;
  for (auto began = std::chrono::steady_clock::now();;) {
    MembershipPtr m = members_.membership();
    // Peers check the count and coding we place the object with (D+P).
    const uint8_t nr_copies = uint8_t(strips);
    Placement p = m->ring.place(oid, nr_copies);
    if (!p.count) return err(Res::Halt);
    if (p.count < d) return err(Res::SystemError);
    Res results[kEcMaxStrips];
    for (int k = 0; k < strips; k++) results[k] = Res::NoObj;
    // The data strips first: when they all answer, no decoding.
    std::vector<int> positions;
    for (int k = 0; k < d; k++) positions.push_back(k);
    read_strips(*m, p, oid, positions, bufs, strip_len, strip_off, nr_copies, copy_policy,
                results);
    int ok = 0;
    for (int k = 0; k < d; k++) ok += results[k] == Res::Success;
    if (ok < d && ok > 0 && !locked) {
      // Decoding mixes strips: a write of these stripes through this
      // gateway must not land between the reads, or the decoded bytes
      // would be neither the old nor the new ones. Read again, holding them.
      StripeLocks::Held held = stripe_locks_.lock(oid, lo, hi);
      return ec_read(shape, oid, buf, len, offset, true);
    }
    if (ok < d) {
      if (!parity_space) {
        parity_space.reset(new uint8_t[size_t(strip_len) * size_t(strips - d)]);
        for (int k = d; k < strips; k++) bufs[k] = parity_space.get() + size_t(k - d) * strip_len;
      }
      positions.clear();
      for (int k = d; k < p.count; k++) positions.push_back(k);
      read_strips(*m, p, oid, positions, bufs, strip_len, strip_off, nr_copies, copy_policy,
                results);
      for (int k = d; k < p.count; k++) ok += results[k] == Res::Success;
    }
    if (ok >= d) {
      const ErasureCode& code = ErasureCode::of(shape);
      const uint8_t* have[kEcMaxStrips];
      uint8_t* want[kEcMaxStrips];
      bool missing = false;
      for (int k = 0; k < strips; k++) {
        bool got = k < p.count && results[k] == Res::Success;
        have[k] = got ? bufs[k] : nullptr;
        want[k] = !got && k < d ? bufs[k] : nullptr;
        missing |= want[k] != nullptr;
      }
      if (missing && !code.reconstruct(have, want, strip_len)) return err(Res::Eio);
      if (lo == offset && hi == uint64_t(offset) + len) {
        code.join(bufs, strip_len, static_cast<uint8_t*>(buf));
      } else {
        std::unique_ptr<uint8_t[]> joined(new uint8_t[hi - lo]);
        code.join(bufs, strip_len, joined.get());
        std::memcpy(buf, joined.get() + (offset - lo), len);
      }
      return {};
    }
    // Too few strips: the object does not exist (every answer NO_OBJ), or
    // the membership is moving, or too many owners failed.
    bool retry = false, all_noobj = true;
    last = Res::NoObj;
    for (int k = 0; k < p.count; k++) {
      if (results[k] == Res::Success) continue;
      if (results[k] != Res::NoObj) {
        all_noobj = false;
        last = results[k];
      }
      if (retryable(results[k])) retry = true;
    }
    if (all_noobj && ok == 0) return err(Res::NoObj);
    if (!retry || !may_retry(began)) break;
    members_.wait_for_change(m.get(), kSettle);
  }
  sd_err("%016" PRIx64 ": fewer than %d strips readable: %s", oid, d, strerror(last));
  return err(last == Res::NoObj ? Res::Eio : last);
}

Status Gateway::ec_write(Kind kind, const EcShape& shape, uint64_t oid, const void* buf,
                         uint32_t len, uint32_t offset, uint8_t copies) {
  const int d = shape.data, strips = shape.strips();
  // (The caller checked the range against the object; stripes never pass
  // its end, object sizes being multiples of 512.)
  uint64_t lo = stripe_floor(offset), hi = stripe_ceil(uint64_t(offset) + len);
  // Writes that share a stripe run one at a time (the read-modify-write
  // below would otherwise lose one of them).
  StripeLocks::Held held = stripe_locks_.lock(oid, lo, hi);
  std::unique_ptr<uint8_t[]> stripes(new uint8_t[hi - lo + 1]);
  if (lo != offset || hi != uint64_t(offset) + len) {
    if (kind == Kind::Create) {
      // A new object is zeros outside the bytes written.
      std::memset(stripes.get(), 0, hi - lo);
    } else {
      // The partial head and tail stripes as they are now.
      if (lo != offset)
        SD_TRY(ec_read(shape, oid, stripes.get(), kEcStripe, uint32_t(lo), true));
      uint64_t tail = hi - kEcStripe;
      if (hi != uint64_t(offset) + len && (tail != lo || lo == offset))
        SD_TRY(ec_read(shape, oid, stripes.get() + (tail - lo), kEcStripe, uint32_t(tail), true));
    }
  }
  if (len) std::memcpy(stripes.get() + (offset - lo), buf, len);
  const uint32_t strip_len = uint32_t((hi - lo) / uint64_t(d));
  std::unique_ptr<uint8_t[]> space(new uint8_t[size_t(strip_len) * size_t(strips) + 1]);
  uint8_t* out[kEcMaxStrips];
  for (int k = 0; k < strips; k++) out[k] = space.get() + size_t(k) * strip_len;
  if (strip_len) ErasureCode::of(shape).encode(stripes.get(), hi - lo, out);
  Payload data;
  data.len = strip_len;
  data.offset = uint32_t(lo / uint64_t(d));
  data.strips = out;
  data.min_owners = d;
  return write_all(kind, oid, data, copies);
}

}  // namespace sd
