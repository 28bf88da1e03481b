// The scrubber's passes and repairs.
#include "recovery/scrubber.h"

#include <chrono>
#include <cinttypes>
#include <cstring>
#include <memory>
#include <vector>

#include "base/log.h"
#include "client/requests.h"
#include "proto/node.h"
#include "group/object_policy.h"
#include "peers/peer_calls.h"
#include "peers/peer_pool.h"
#include "recovery/local_replica.h"
#include "recovery/object_recovery.h"
#include "recovery/ownership_audit.h"
#include "sha1.h"
#include "store/object_store.h"

namespace sd {

namespace {

std::string node_name(const NodeId& nid) { return node_addr_str(nid); }

}  // namespace

Scrubber::Scrubber(ObjectStore& store, PeerPool& peers, const MembershipSource& members,
                   const ObjectPolicy& policy, OwnershipAudit& audit, ObjectRecovery& recovery,
                   LocalReplica& replica)
    : store_(store),
      peers_(peers),
      members_(members),
      policy_(policy),
      audit_(audit),
      recovery_(recovery),
      replica_(replica) {
  thread_ = std::thread([this] {
    log::set_thread_name("scrub");
    loop();
  });
}

Scrubber::~Scrubber() {
  quit();
  thread_.join();
}

void Scrubber::quit() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    quitting_ = true;
    stop_pass_ = true;
  }
  cv_.notify_all();
}

void Scrubber::start(uint32_t rate_mib) {
  rate_mib_ = rate_mib ? rate_mib : kScrubDefaultRateMib;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (quitting_ || (running_ && !stop_pass_)) return;  // (a new rate applies at once)
    running_ = true;
    pass_wanted_ = true;
  }
  cv_.notify_all();
}

void Scrubber::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    pass_wanted_ = false;
    stop_pass_ = true;
    running_ = false;
  }
  cv_.notify_all();
}

ScrubStatus Scrubber::status() const {
  ScrubStatus s{};
  s.running = running_.load() ? 1 : 0;
  s.rate_mib = rate_mib_.load();
  s.passes = passes_.load();
  s.checked = checked_.load();
  s.total = total_.load();
  s.found = found_.load();
  s.repaired = repaired_.load();
  s.unrepaired = unrepaired_.load();
  s.bytes = bytes_.load();
  return s;
}

void Scrubber::object_corrupt(uint64_t oid) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (queued_.count(oid) || queued_.size() >= kMaxQueued) return;
    auto known = unrepairable_.find(oid);
    if (known != unrepairable_.end()) {
      if (std::chrono::steady_clock::now() < known->second) return;  // known, not yet again
      unrepairable_.erase(known);
    }
    queued_.insert(oid);
    queue_.push_back(oid);
    found_++;
  }
  cv_.notify_all();
}

bool Scrubber::pause(int64_t ms, bool for_repairs) {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait_for(lk, std::chrono::milliseconds(ms),
               [&] { return stop_pass_ || quitting_ || (for_repairs && !queue_.empty()); });
  return !stop_pass_ && !quitting_;
}

void Scrubber::loop() {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return quitting_ || !queue_.empty() || pass_wanted_; });
    if (quitting_) return;
    if (repair_next(lk)) continue;
    pass_wanted_ = false;
    stop_pass_ = false;
    lk.unlock();
    run_pass();
    lk.lock();
    if (!pass_wanted_) running_ = false;  // (a start meanwhile runs another)
  }
}

bool Scrubber::repair_next(std::unique_lock<std::mutex>& lk) {
  if (queue_.empty()) return false;
  uint64_t oid = queue_.front();
  queue_.pop_front();
  lk.unlock();
  bool good = repair(oid);
  lk.lock();
  queued_.erase(oid);  // after: reads meanwhile must not queue it again
  if (!good) {
    if (unrepairable_.size() >= kMaxQueued) unrepairable_.erase(unrepairable_.begin());
    unrepairable_[oid] = std::chrono::steady_clock::now() + kRetryUnrepairable;
  }
  return true;
}

void Scrubber::run_pass() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    unrepairable_.clear();  // a pass looks at every copy again
  }
  std::vector<uint64_t> oids = store_.list();
  checked_ = 0;
  bytes_ = 0;
  total_ = oids.size();
  uint64_t found_before = found_.load(), repaired_before = repaired_.load();
  sd_notice("scrub: checking %zu objects at %u MiB/s", oids.size(), rate_mib_.load());
  auto began = std::chrono::steady_clock::now();
  bool stopped = false;
  for (uint64_t oid : oids) {
    // Repairs first: a copy found bad waits for no pass.
    {
      std::unique_lock<std::mutex> lk(mu_);
      while (!(stopped = stop_pass_ || quitting_) && repair_next(lk)) {
      }
    }
    if (stopped) break;
    bytes_ += check(oid);
    checked_++;
    uint64_t rate = uint64_t(rate_mib_.load()) << 20;
    int64_t due_ms = int64_t(bytes_.load() * 1000 / rate);
    int64_t spent_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - began)
                           .count();
    if (due_ms > spent_ms && !pause(due_ms - spent_ms)) {
      stopped = true;
      break;
    }
  }
  if (stopped) {
    sd_notice("scrub: stopped after %" PRIu64 " of %zu objects", checked_.load(), oids.size());
    return;
  }
  passes_++;
  sd_notice("scrub: pass done: %" PRIu64 " objects, %" PRIu64 " bad copies found, %" PRIu64
            " repaired",
            checked_.load(), found_.load() - found_before, repaired_.load() - repaired_before);
}

uint64_t Scrubber::check(uint64_t oid) {
  MembershipPtr m = members_.membership();
  if (!audit_.has_current(oid, *m)) return 0;  // not ours to vouch for: recovery's
  ObjectLayout l = policy_.layout(oid);
  bool sealed = false;
  Status st = store_.verify(oid, &sealed);
  if (st.code() == Res::Eio) return l.size;  // the store told object_corrupt(): queued
  if (!st.ok()) return 0;                    // removed meanwhile
  // Written before checksums existed: they are made from the bytes as
  // they are, once the other owners hold the same bytes (a copy that
  // differs is left to the comparison below, or to `dog vdi check`).
  if (!sealed && (l.shape || l.copies < 2 || copies_agree(oid, l, m))) {
    Status s = store_.seal(oid);
    if (!s.ok()) sd_warn("scrub: cannot add checksums to %016" PRIx64 ": %s", oid, strerror(s.code()));
  }
  if (!l.shape && l.copies > 1) {
    Placement p = m->ring.place(oid, l.copies);
    if (p.count > 1 && m->is_self(p.node[0])) compare_copies(oid, l, m);
  }
  return l.size;
}

bool Scrubber::repair(uint64_t oid) {
  MembershipPtr m = members_.membership();
  if (!audit_.has_current(oid, *m)) return false;  // gone, or recovery's to bring back
  ObjectLayout l = policy_.layout(oid);
  if (l.shape) {
    // Reads rebuild its bytes from the other strips. A rebuild here could
    // meet a write in flight (the strips are read one after another) and
    // store a mix of two versions; `dog vdi check` rebuilds it.
    unrepaired_++;
    sd_err("scrub: %016" PRIx64 ": bad strip; `dog vdi check` rebuilds it", oid);
    return false;
  }
  if (repair_blocks_from_peers(oid, l, m)) return true;
  unrepaired_++;
  return false;
}

bool Scrubber::repair_blocks_from_peers(uint64_t oid, const ObjectLayout& l,
                                        const MembershipPtr& m) {
  Placement p = m->ring.place(oid, l.copies);
  std::unique_ptr<char[]> good(new char[l.size]);
  for (int attempt = 0; attempt < 20; attempt++) {
    bool again = false;
    for (int i = 0; i < p.count && !again; i++) {
      if (m->is_self(p.node[i])) continue;
      const NodeId& nid = m->nodes[p.node[i]].nid;
      auto peer = peers_.get(nid);
      if (!peer) continue;
      int64_t read_at = PlainStore::now_ms();
      if (!peer::read(*peer, m->epoch, oid, good.get(), uint32_t(l.size), 0).ok()) continue;
      auto r = store_.repair_blocks(oid, good.get(), l.size, read_at);
      if (r.code() == Res::Again) {
        again = true;  // written since: that copy may be older than ours
        break;
      }
      if (!r.ok()) {
        sd_err("scrub: %016" PRIx64 ": repair failed: %s", oid, strerror(r.code()));
        return false;
      }
      if (r->repaired) {
        repaired_++;
        sd_notice("scrub: %016" PRIx64 ": %u bad block(s) repaired from %s", oid, r->repaired,
                  node_name(nid).c_str());
      }
      if (r->differing)
        sd_warn("scrub: %016" PRIx64 ": %u good block(s) differ from the copy on %s", oid,
                r->differing, node_name(nid).c_str());
      return true;
    }
    if (!again) break;
    std::unique_lock<std::mutex> lk(mu_);
    if (cv_.wait_for(lk, std::chrono::milliseconds(500), [&] { return quitting_; })) return false;
  }
  sd_err("scrub: %016" PRIx64 ": bad block(s) and no other owner served a good copy; reads "
         "of them fail",
         oid);
  return false;
}

void Scrubber::hashes(uint64_t oid, const MembershipPtr& m, int count, const uint16_t* nodes,
                      uint8_t (*digest)[20], bool* have) {
  for (int i = 0; i < count; i++) {
    have[i] = false;
    if (m->is_self(nodes[i])) {
      ObjectLayout l = policy_.layout(oid);
      constexpr uint32_t kChunk = 1u << 20;
      std::unique_ptr<char[]> buf(new char[kChunk]);
      Sha1 h;
      bool ok = true;
      for (uint64_t off = 0; ok && off < l.size; off += kChunk) {
        uint32_t n = uint32_t(std::min<uint64_t>(kChunk, l.size - off));
        ok = store_.read(oid, buf.get(), n, off).ok();
        h.update(buf.get(), n);
      }
      if (ok) h.final(digest[i]);
      have[i] = ok;
      continue;
    }
    auto peer = peers_.get(m->nodes[nodes[i]].nid);
    have[i] = peer && peer::get_hash(*peer, m->epoch, oid, digest[i]).ok();
  }
}

bool Scrubber::copies_agree(uint64_t oid, const ObjectLayout& l, const MembershipPtr& m) {
  Placement p = m->ring.place(oid, l.copies);
  uint8_t digest[32][20];
  bool have[32];
  hashes(oid, m, p.count, p.node, digest, have);
  int answered = 0;
  for (int i = 0; i < p.count; i++) {
    if (!have[i]) continue;
    answered++;
    for (int j = 0; j < i; j++)
      if (have[j] && std::memcmp(digest[i], digest[j], 20) != 0) return false;
  }
  return answered >= 2;
}

void Scrubber::compare_copies(uint64_t oid, const ObjectLayout& l, const MembershipPtr& m) {
  Placement p = m->ring.place(oid, l.copies);
  uint8_t first[32][20], second[32][20];
  bool had[32], have[32];
  hashes(oid, m, p.count, p.node, first, had);
  auto same = [&](int a, int b) { return std::memcmp(second[a], second[b], 20) == 0; };
  int answered = 0;
  bool differ = false;
  for (int i = 0; i < p.count; i++) {
    if (!had[i]) continue;
    answered++;
    for (int j = 0; j < i; j++)
      if (had[j] && std::memcmp(first[i], first[j], 20) != 0) differ = true;
  }
  if (!differ || answered < 2) return;
  // Once more, a second later: a write in flight reaches the copies one
  // after another, and is no damage.
  if (!pause(1000, false)) return;
  if (members_.membership()->epoch != m->epoch) return;
  hashes(oid, m, p.count, p.node, second, have);
  for (int i = 0; i < p.count; i++)
    if (had[i] != have[i] || (have[i] && std::memcmp(first[i], second[i], 20) != 0))
      return;  // still being written: the next pass looks again
  int best = -1, best_count = 0;
  for (int i = 0; i < p.count; i++) {
    if (!have[i]) continue;
    int c = 0;
    for (int j = 0; j < p.count; j++) c += have[j] && same(i, j);
    if (c > best_count) best = i, best_count = c;
  }
  if (best < 0 || best_count * 2 <= answered) {
    found_++;
    unrepaired_++;
    sd_err("scrub: %016" PRIx64 ": its %d copies differ and no content has a majority", oid,
           answered);
    return;
  }
  const NodeId& good = m->nodes[p.node[best]].nid;
  for (int i = 0; i < p.count; i++) {
    if (!have[i] || same(i, best)) continue;
    const NodeId& bad = m->nodes[p.node[i]].nid;
    // Client writes go on meanwhile: the good copy must still be the one
    // hashed when it is read, and the bad one still the one hashed when it
    // is replaced (one step with that store's writes of oid), or a write
    // landing in between would be undone on the bad copy. Either changed:
    // left for the next pass.
    Status st;
    if (m->is_self(p.node[i])) {
      std::unique_ptr<char[]> buf(new char[l.size]);
      auto peer = peers_.get(good);
      st = peer ? peer::read(*peer, m->epoch, oid, buf.get(), uint32_t(l.size), 0)
                : err(Res::NetworkError);
      if (st.ok()) {
        Sha1 h;
        h.update(buf.get(), l.size);
        uint8_t got[20];
        h.final(got);
        if (std::memcmp(got, second[best], sizeof(got)) != 0) st = err(Res::Again);
      }
      if (st.ok()) st = replica_.replace_unless_changed(oid, m->epoch, buf.get(), second[i]);
    } else {
      auto peer = peers_.get(bad);
      st = peer ? peer::repair_from_if(*peer, oid, good, second[best], second[i])
                : err(Res::NetworkError);
    }
    if (st.code() == Res::Again) {
      sd_info("scrub: %016" PRIx64 ": the copies were written while the one on %s was "
              "being replaced; the next pass looks again",
              oid, node_name(bad).c_str());
      continue;
    }
    found_++;
    if (st.ok()) {
      repaired_++;
      sd_notice("scrub: %016" PRIx64 ": the copy on %s differed from the majority; replaced "
                "by the one on %s",
                oid, node_name(bad).c_str(), node_name(good).c_str());
    } else {
      unrepaired_++;
      sd_err("scrub: %016" PRIx64 ": the copy on %s differs from the majority; not replaced: %s",
             oid, node_name(bad).c_str(), strerror(st.code()));
    }
  }
}

}  // namespace sd
