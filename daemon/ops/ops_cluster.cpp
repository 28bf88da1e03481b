// Cluster and node request handlers: node list, cluster info and epochs,
// format, shutdown, kill, node statistics, recovery and log settings.
#include <algorithm>
#include <cstring>
#include <ctime>

#include "base/log.h"
#include "erasure_code.h"
#include "ops/ops.h"
#include "sheep.h"

namespace sd::ops {

Res get_node_list(Sheep& s, Request& r) {
  MembershipPtr m = s.group.membership();
  size_t n = std::min<size_t>(m->nodes.size(), r.hdr.data_length / sizeof(SdNode));
  char* buf = r.reply_buffer(uint32_t(n * sizeof(SdNode)));
  if (n) std::memcpy(buf, m->nodes.data(), n * sizeof(SdNode));
  r.rsp.node.nr_nodes = uint32_t(m->nodes.size());
  return Res::Success;
}

Res make_fs(Sheep& s, Request& r) {
  if (!r.is_write() || r.data_length() == 0) return Res::InvalidParms;
  ClusterSettings cs;
  size_t n = strnlen(r.data(), std::min<size_t>(r.data_length(), kStoreLen - 1));
  std::memcpy(cs.store, r.data(), n);
  cs.ctime = r.hdr.cluster.ctime ? r.hdr.cluster.ctime : now_timestamp();
  cs.copies = r.hdr.cluster.copies;
  cs.copy_policy = r.hdr.cluster.copy_policy;
  cs.flags = r.hdr.cluster.flags;
  cs.block_size_shift = r.hdr.cluster.block_size_shift;
  if (cs.copies > kMaxCopies) return Res::InvalidParms;
  if (cs.copy_policy) {
    // Erasure coding: D+P copies of what is replicated (inodes and the
    // rest), whatever copies the request named.
    auto shape = ec_shape_of(cs.copy_policy);
    if (!shape) return Res::InvalidParms;
    cs.copies = uint8_t(shape->strips());
  }
  if (cs.block_size_shift &&
      (cs.block_size_shift < kMinBlockSizeShift || cs.block_size_shift > kMaxBlockSizeShift))
    return Res::InvalidParms;
  return s.group.make_fs(cs);
}

Res shutdown(Sheep& s, Request&) { return s.group.shutdown(); }

// The default copies of VDIs created from now on; replication only.
Res alter_cluster_copy(Sheep& s, Request& r) {
  uint8_t copies = r.hdr.cluster.copies;
  if (r.hdr.cluster.copy_policy || copies == 0 || copies > kMaxCopies) return Res::InvalidParms;
  if (!s.group.formatted()) return Res::WaitForFormat;
  if (s.group.settings().copy_policy) return Res::InvalidParms;  // a coded cluster keeps its shape
  return s.group.alter_cluster_copy(copies);
}

// A replicated VDI's copies; recovery then moves its objects to their new
// owners (EpochRecovery::copies_changed).
Res alter_vdi_copy(Sheep& s, Request& r) {
  const auto& v = r.hdr.vdi_state;
  if (v.copy_policy || v.copies == 0 || v.copies > kMaxCopies || v.new_vid == 0 ||
      v.new_vid >= kNrVdis)
    return Res::InvalidParms;
  return s.group.alter_vdi_copy(v.new_vid, v.copies);
}

Res kill_node(Sheep& s, Request&) {
  sd_info("killed by request");
  s.group.set_killed();
  s.request_stop();
  return Res::Success;
}

Res stat_sheep(Sheep& s, Request& r) {
  if (s.opts.gateway) return Res::Success;
  uint64_t free = s.store.fs_free();
  r.rsp.node.store_free = free;
  r.rsp.node.store_size = free + s.store.used_bytes();
  return Res::Success;
}

// The largest STAT_CLUSTER reply (docs/PROTOCOL.md §8.4).
constexpr size_t kMaxStatClusterReply = 32u << 20;

Res stat_cluster(Sheep& s, Request& r) {
  ClusterSettings cs = s.group.settings();
  MembershipPtr m = s.group.membership();
  Res result = Res::Success;
  switch (s.group.status()) {
    case ClusterStatus::Ok: break;
    case ClusterStatus::Wait: result = cs.ctime ? Res::WaitForJoin : Res::WaitForFormat; break;
    case ClusterStatus::Shutdown: result = Res::Shutdown; break;
    case ClusterStatus::Killed: result = Res::Killed; break;
  }
  uint32_t latest = cs.ctime ? std::max(s.epochs.latest(), m->epoch) : 0;
  uint32_t slots = r.hdr.cluster.nodes_nr;
  // dog asks with twice as many slots as it last needed: more than twice
  // the largest cluster is no question.
  if (slots > 2 * kMaxNodes) return Res::InvalidParms;
  size_t stride = sizeof(EpochLogHeader) + size_t(slots) * sizeof(SdNode);
  // The reply is made whole in memory: never more than kMaxStatClusterReply
  // of it, whatever data_length asks for (the newest records fit).
  size_t max_records = std::min<size_t>(r.hdr.data_length, kMaxStatClusterReply) / stride;
  size_t count = std::min<size_t>(max_records, latest);
  char* buf = r.reply_buffer(uint32_t(count * stride));
  std::memset(buf, 0, count * stride);
  for (size_t i = 0; i < count; i++) {
    uint32_t e = latest - uint32_t(i);
    auto* h = reinterpret_cast<EpochLogHeader*>(buf + i * stride);
    h->epoch = e;
    if (i == 0) {
      h->ctime = cs.ctime;
      h->disable_recovery = cs.disable_recovery;
      h->nr_copies = cs.copies;
      h->copy_policy = cs.copy_policy;
      h->flags = cs.flags;
      std::memcpy(h->drv_name, cs.store, kStoreLen);
    }
    if (!slots) continue;
    // An epoch made while this node was down is fetched from the members
    // (and kept): every node shows the same history.
    auto rec = s.rings.record(e);
    if (!rec.ok()) continue;
    if (rec->nodes.size() > slots) {
      r.reply.reset();
      r.rsp.data_length = 0;
      return Res::BufferSmall;
    }
    h->time = rec->time;
    h->nr_nodes = uint32_t(rec->nodes.size());
    if (!rec->nodes.empty())
      std::memcpy(buf + i * stride + sizeof(EpochLogHeader), rec->nodes.data(),
                  rec->nodes.size() * sizeof(SdNode));
  }
  return result;
}

Res cluster_info(Sheep& s, Request& r) {
  auto ci = std::make_unique<ClusterInfo>();
  s.group.fill_cluster_info(ci.get());
  uint32_t n = std::min<uint32_t>(r.hdr.data_length, sizeof(ClusterInfo));
  std::memcpy(r.reply_buffer(n), ci.get(), n);
  return Res::Success;
}

Res get_store_list(Sheep&, Request& r) {
  static const char kStores[] = "tree plain ";  // upstream's order
  uint32_t n = std::min<uint32_t>(r.hdr.data_length, sizeof(kStores));
  std::memcpy(r.reply_buffer(n), kStores, n);
  return Res::Success;
}

Res get_epoch(Sheep& s, Request& r) {
  auto raw = s.epochs.raw(r.hdr.obj.tgt_epoch);
  if (!raw.ok()) return raw.code();
  if (raw->size() > r.hdr.data_length) return Res::BufferSmall;
  std::memcpy(r.reply_buffer(uint32_t(raw->size())), raw->data(), raw->size());
  return Res::Success;
}

Res get_cluster_default(Sheep& s, Request& r) {
  ClusterSettings cs = s.group.settings();
  r.rsp.cluster_default.nr_copies = cs.copies ? cs.copies : kDefaultCopies;
  r.rsp.cluster_default.copy_policy = cs.copy_policy;
  r.rsp.cluster_default.block_size_shift =
      cs.block_size_shift ? cs.block_size_shift : kDefaultBlockSizeShift;
  return Res::Success;
}

Res stat_recovery(Sheep& s, Request& r) {
  RecoveryState st = s.recovery_state();
  uint32_t n = std::min<uint32_t>(r.hdr.data_length, sizeof(st));
  std::memcpy(r.reply_buffer(n), &st, n);
  return Res::Success;
}

Res get_recovery(Sheep& s, Request& r) {
  RecoveryThrottling t = s.epoch_recovery.throttle();
  uint32_t n = std::min<uint32_t>(r.hdr.data_length, sizeof(t));
  std::memcpy(r.reply_buffer(n), &t, n);
  return Res::Success;
}

Res set_recovery(Sheep& s, Request& r) {
  if (!r.is_write() || r.data_length() < sizeof(RecoveryThrottling)) return Res::InvalidParms;
  RecoveryThrottling t;
  std::memcpy(&t, r.data(), sizeof(t));
  s.epoch_recovery.set_throttle(t.max_exec_count, t.queue_work_interval);
  return Res::Success;
}

Res enable_recover(Sheep& s, Request&) { return s.group.set_recovery_disabled(false); }
Res disable_recover(Sheep& s, Request&) { return s.group.set_recovery_disabled(true); }

Res get_loglevel(Sheep&, Request& r) {
  int32_t l = log::level();
  uint32_t n = std::min<uint32_t>(r.hdr.data_length, 4);
  std::memcpy(r.reply_buffer(n), &l, n);
  return Res::Success;
}

Res set_loglevel(Sheep&, Request& r) {
  if (!r.is_write() || r.data_length() != 4) return Res::InvalidParms;
  int32_t l;
  std::memcpy(&l, r.data(), 4);
  if (l < 0 || l > log::Debug) return Res::InvalidParms;
  log::set_level(log::Level(l));
  return Res::Success;
}

Res nop(Sheep&, Request&) { return Res::Success; }

}  // namespace sd::ops
