// Encoding of the requests between sheep.
#include "peers/peer_calls.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "client/requests.h"
#include "proto/node.h"
#include "proto/scrub.h"

namespace sd::peer {

SdReq object_req(uint8_t opcode, uint32_t epoch, uint64_t oid, uint32_t len, uint32_t offset,
                 uint8_t copies, int piece, uint8_t copy_policy) {
  SdReq req = request::peer_object(opcode, epoch, oid, len, offset, copies,
                                   piece < 0 ? 0 : uint8_t(piece));
  req.obj.copy_policy = copy_policy;
  return req;
}

Status read(SheepClient& c, uint32_t epoch, uint64_t oid, void* buf, uint32_t len,
            uint32_t offset, int piece) {
  SdRsp rsp;
  SD_TRY(c.exec(object_req(kOpReadPeer, epoch, oid, len, offset, 0, piece), nullptr, buf, &rsp));
  if (rsp.data_length != len) return err(Res::Eio);
  return {};
}

Status read_for_recovery(SheepClient& c, uint32_t epoch, uint64_t oid, uint32_t tgt_epoch,
                         void* buf, uint32_t size, uint32_t* copy_epoch, uint8_t copies,
                         int piece, uint8_t copy_policy) {
  SdReq req = object_req(kOpReadPeer, epoch, oid, size, 0, copies, piece, copy_policy);
  req.flags |= kFlagRecovery;
  req.obj.tgt_epoch = tgt_epoch;
  SdRsp rsp;
  SD_TRY(c.exec(req, nullptr, buf, &rsp));
  if (rsp.data_length != size) return err(Res::Eio);
  if (copy_epoch) *copy_epoch = rsp.obj.copy_epoch;
  return {};
}

Status remove_any_copy(SheepClient& c, uint32_t epoch, uint64_t oid) {
  SdReq req = object_req(kOpRemovePeer, epoch, oid, 0, 0);
  req.flags |= kFlagRecovery;
  return c.exec(req, nullptr, nullptr);
}

namespace {

// A u64 list, growing the buffer as needed.
bool u64_list(SheepClient& c, uint8_t opcode, std::vector<uint64_t>* out) {
  for (uint32_t len = 1u << 20; len <= (256u << 20); len *= 2) {
    // Not zeroed: only the pages the reply fills are touched (zeroing
    // 1 MiB for every list was most of a recovery pass's CPU time).
    std::unique_ptr<uint64_t[]> buf(new uint64_t[len / 8]);
    SdReq req = make_req(opcode, 0, len);
    SdRsp rsp;
    Status st = c.exec(req, nullptr, buf.get(), &rsp);
    if (st.code() == Res::BufferSmall) continue;
    if (!st.ok()) return false;
    out->insert(out->end(), buf.get(), buf.get() + std::min<uint32_t>(rsp.data_length, len) / 8);
    return true;
  }
  return false;
}

}  // namespace

bool object_list(SheepClient& c, std::vector<uint64_t>* out) {
  return u64_list(c, kOpGetObjList, out);
}

bool stale_list(SheepClient& c, std::vector<std::pair<uint64_t, uint32_t>>* out) {
  std::vector<uint64_t> raw;
  if (!u64_list(c, kOpGetStaleList, &raw)) return false;
  for (size_t i = 0; i + 1 < raw.size(); i += 2) out->push_back({raw[i], uint32_t(raw[i + 1])});
  return true;
}

Status missing_of(SheepClient& c, const std::vector<uint64_t>& oids, std::vector<uint64_t>* missing) {
  SdReq req = request::oids_exist(uint32_t(oids.size()));
  std::vector<uint64_t> buf(oids.size());
  SdRsp rsp;
  Status st = c.exec(req, oids.data(), buf.data(), &rsp, uint32_t(buf.size() * 8));
  missing->clear();
  if (st.ok()) return {};
  if (st.code() != Res::NoObj) return st;
  missing->assign(buf.begin(), buf.begin() + rsp.data_length / 8);
  return {};
}

Status epoch_file(SheepClient& c, uint32_t epoch, std::vector<char>* out) {
  out->resize(kMaxNodes * sizeof(SdNode) + 8);
  SdReq req = request::epoch_file(epoch, uint32_t(out->size()));
  SdRsp rsp;
  SD_TRY(c.exec(req, nullptr, out->data(), &rsp));
  out->resize(rsp.data_length);
  return {};
}

Status stat_sheep(SheepClient& c, uint64_t* size, uint64_t* free) {
  SdRsp rsp;
  SD_TRY(c.exec(request::stat_sheep(), nullptr, nullptr, &rsp));
  *size = rsp.node.store_size;
  *free = rsp.node.store_free;
  return {};
}

Status get_hash(SheepClient& c, uint32_t epoch, uint64_t oid, uint8_t digest[20]) {
  SdRsp rsp;
  SdReq req = request::get_hash(oid, epoch);
  req.flags |= kFlagRecovery;  // read checked against the block checksums
  SD_TRY(c.exec(req, nullptr, nullptr, &rsp));
  std::memcpy(digest, rsp.hash.digest, 20);
  return {};
}

Status repair_from(SheepClient& c, uint64_t oid, const NodeId& from) {
  return c.exec(request::repair_replica(oid, from), nullptr, nullptr);
}

Status repair_from_if(SheepClient& c, uint64_t oid, const NodeId& from,
                      const uint8_t good[20], const uint8_t current[20]) {
  RepairCondition cond;
  std::memcpy(cond.good, good, 20);
  std::memcpy(cond.current, current, 20);
  return c.exec(request::repair_replica_if(oid, from), &cond, nullptr);
}

Status release_objects(SheepClient& c, const std::vector<std::pair<uint32_t, uint32_t>>& objects) {
  std::vector<uint32_t> payload;
  for (const auto& [vid, idx] : objects) {
    payload.push_back(vid);
    payload.push_back(idx);
  }
  SdReq req = make_req(kOpReleaseObjects, kFlagWrite, uint32_t(payload.size() * 4));
  return c.exec(req, payload.data(), nullptr);
}

}  // namespace sd::peer
