// Byte-range I/O on a VDI through its inode.
#include "client/vdi.h"

#include <algorithm>
#include <vector>
#include <cstring>

#include "client/client_map_io.h"
#include "oid.h"

namespace sd {

Result<uint32_t> lookup_vdi(SheepClient& c, const std::string& name, const std::string& tag,
                            uint32_t snapid) {
  if (name.size() >= kMaxVdiLen || tag.size() >= kMaxVdiTagLen) return err(Res::InvalidParms);
  char buf[kMaxVdiLen + kMaxVdiTagLen] = {};
  std::memcpy(buf, name.data(), name.size());
  std::memcpy(buf + kMaxVdiLen, tag.data(), tag.size());
  SdReq req = make_req(kOpGetVdiInfo, kFlagWrite, sizeof(buf));
  req.vdi.snapid = snapid;
  SdRsp rsp;
  SD_TRY(c.exec(req, buf, nullptr, &rsp));
  return rsp.vdi.vdi_id;
}

Result<InodeHeader> read_inode_header(SheepClient& c, uint32_t vid) {
  InodeHeader h;
  SD_TRY(c.read_obj(vid_to_vdi_oid(vid), &h, sizeof(h), 0));
  return h;
}

// Leaves kept per open hyper volume (4 MiB each at most): a lookup in a
// region used recently reads nothing.
constexpr size_t kCachedLeaves = 4;

Vdi::Vdi(SheepClient& c, std::string name, std::string tag, uint32_t snapid)
    : client_(c), name_(std::move(name)), tag_(std::move(tag)), snapid_(snapid) {}

Vdi::~Vdi() = default;

Result<std::unique_ptr<Vdi>> Vdi::open(SheepClient& c, const std::string& name,
                                       const std::string& tag, uint32_t snapid) {
  auto vid = lookup_vdi(c, name, tag, snapid);
  if (!vid.ok()) return err(vid.code());
  std::unique_ptr<Vdi> v(new Vdi(c, name, tag, snapid));
  SD_TRY(v->load(*vid));
  return v;
}

Status Vdi::load(uint32_t vid) {
  auto h = read_inode_header(client_, vid);
  if (!h.ok()) return err(h.code());
  if (h->store_policy > 1) return err(Res::NoSupport);
  if (h->store_policy == 1) return load_tree(*h);
  uint8_t shift = h->block_size_shift ? h->block_size_shift : kDefaultBlockSizeShift;
  if (shift < kMinBlockSizeShift || shift > kMaxBlockSizeShift) return err(Res::Eio);
  uint64_t nr = (h->vdi_size + (1ull << shift) - 1) >> shift;
  nr = std::min<uint64_t>(nr, kInodeDataIndex);
  std::vector<uint32_t> map(nr);
  if (nr) SD_TRY(client_.read_obj(vid_to_vdi_oid(vid), map.data(), uint32_t(nr * 4),
                                  uint32_t(inode_map_offset(0))));
  // The map just read can lag behind our own writes: a block this client
  // created has its inode entry written after the object, possibly after
  // the read above. Such entries are kept, not reset to 0 (reads of them
  // would return zeros). And when moving from our vid to its new child (it
  // was snapshotted under us), blocks we allocated in the old vid whose
  // inode update came too late for the snapshot's copy of the map are ours
  // all the same (the writes were acknowledged): the child must reference
  // them, as if the snapshot had seen them; they are copied on next write.
  uint32_t old_vid;
  std::vector<uint64_t> adopted;
  {
    std::unique_lock<std::shared_mutex> lk(mu_);
    old_vid = header_.vdi_id;
    bool same = old_vid && h->vdi_id == old_vid;
    bool child = old_vid && h->vdi_id != old_vid && h->parent_vdi_id == old_vid;
    for (size_t i = 0; (same || child) && i < map.size() && i < map_.size(); i++) {
      if (map_[i] == 0 || map[i] == map_[i]) continue;
      if (same && (map[i] == 0 || map_[i] == h->vdi_id)) {
        map[i] = map_[i];  // our entry, its inode write still on its way
      } else if (child && map[i] == 0 && map_[i] == old_vid) {
        map[i] = old_vid;
        adopted.push_back(i);
      }
    }
    header_ = *h;
    map_ = std::move(map);
    block_size_shift_ = shift;
    readonly_ = inode_is_snapshot(header_) || !tag_.empty() || snapid_ != 0;
  }
  for (uint64_t idx : adopted) SD_TRY(reference_block(h->vdi_id, idx, old_vid, h->nr_copies));
  return {};
}

Status Vdi::load_tree(const InodeHeader& h) {
  uint8_t shift = h.block_size_shift ? h.block_size_shift : kDefaultBlockSizeShift;
  if (shift < kMinBlockSizeShift || shift > kMaxBlockSizeShift) return err(Res::Eio);
  auto io = std::make_unique<ClientMapIo>(
      client_, [this]() -> SheepClient& { return wc(); }, h.nr_copies);
  auto tree = std::make_unique<HyperMap>(*io, h.vdi_id, kCachedLeaves);
  SD_TRY(tree->load());
  std::unique_lock<std::shared_mutex> tl(tree_mu_);
  // Moving to our vid's child (it was snapshotted under us): a block we
  // allocated whose insert reached the old tree before the freeze is in
  // the child's copy; one refused READONLY is redone by write_block. So
  // the new tree is complete as it is.
  std::unique_lock<std::shared_mutex> lk(mu_);
  tree_ = std::move(tree);
  tree_io_ = std::move(io);
  header_ = h;
  map_.clear();
  block_size_shift_ = shift;
  hyper_ = true;
  readonly_ = inode_is_snapshot(header_) || !tag_.empty() || snapid_ != 0;
  return {};
}

Status set_map_entry(SheepClient& c, uint32_t vid, uint64_t idx, uint32_t owner, uint8_t copies) {
  return c.write_obj(vid_to_vdi_oid(vid), &owner, sizeof(owner), uint32_t(inode_map_offset(idx)),
                     copies);
}

Status Vdi::reference_block(uint32_t vid, uint64_t idx, uint32_t owner, uint8_t copies) {
  return set_map_entry(wc(), vid, idx, owner, copies);
}

Status Vdi::refresh() {
  std::lock_guard<std::mutex> lk(refresh_mu_);
  auto vid = lookup_vdi(client_, name_, tag_, snapid_);
  if (!vid.ok()) return err(vid.code());
  return load(*vid);
}

uint32_t Vdi::vid() const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  return header_.vdi_id;
}

uint64_t Vdi::size() const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  return header_.vdi_size;
}

InodeHeader Vdi::header() const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  return header_;
}

Result<uint32_t> Vdi::map_entry(uint64_t idx) {
  if (hyper_) {
    if (idx >= kMaxDataObjs) return 0u;
    {
      std::shared_lock<std::shared_mutex> tl(tree_mu_);
      uint32_t owner;
      if (tree_->peek(uint32_t(idx), &owner)) return owner;
    }
    std::unique_lock<std::shared_mutex> tl(tree_mu_);
    return tree_->lookup(uint32_t(idx));
  }
  std::shared_lock<std::shared_mutex> lk(mu_);
  return idx < map_.size() ? map_[idx] : 0u;
}

Result<uint64_t> Vdi::next_allocated(uint64_t idx) {
  if (hyper_) {
    if (idx >= kMaxDataObjs) return kNoBlock;
    std::unique_lock<std::shared_mutex> tl(tree_mu_);
    auto next = tree_->next_allocated(uint32_t(idx));
    if (!next.ok()) return err(next.code());
    return *next == HyperMap::kNoBlock ? kNoBlock : *next;
  }
  std::shared_lock<std::shared_mutex> lk(mu_);
  for (uint64_t i = idx; i < map_.size(); i++)
    if (map_[i]) return i;
  return kNoBlock;
}

Status Vdi::set_own_entry(uint32_t vid, uint64_t idx, uint32_t owner, uint8_t copies) {
  if (!hyper_) return set_map_entry(wc(), vid, idx, owner, copies);
  std::unique_lock<std::shared_mutex> tl(tree_mu_);
  // The tree in memory is the current vid's: a stale vid (snapshotted
  // and reloaded meanwhile) is the snapshot's, which takes no inserts.
  if (header().vdi_id != vid) return err(Res::Readonly);
  return tree_->set(uint32_t(idx), owner);
}

Status Vdi::read(void* buf, uint64_t len, uint64_t offset) {
  if (offset + len < offset || offset + len > size()) return err(Res::InvalidParms);
  char* p = static_cast<char*>(buf);
  const uint64_t osz = object_size();
  while (len) {
    uint64_t idx = offset / osz;
    uint32_t off = uint32_t(offset % osz);
    uint32_t n = uint32_t(std::min<uint64_t>(len, osz - off));
    SD_TRY(read_block(idx, p, n, off));
    p += n;
    offset += n;
    len -= n;
  }
  return {};
}

Result<uint32_t> Vdi::current_entry(uint64_t idx) {
  uint32_t vid, e;
  if (hyper_) {
    auto got = map_entry(idx);
    if (!got.ok() || !shared_writer_ || *got == header().vdi_id) return got;
    // Another writer may have inserted since: the tree is read again.
    std::unique_lock<std::shared_mutex> tl(tree_mu_);
    SD_TRY(tree_->load());
    return tree_->lookup(uint32_t(idx));
  }
  {
    std::shared_lock<std::shared_mutex> lk(mu_);
    vid = header_.vdi_id;
    e = idx < map_.size() ? map_[idx] : 0;
  }
  if (!shared_writer_ || e == vid || idx >= kInodeDataIndex) return e;
  uint32_t fresh = 0;
  if (!client_.read_obj(vid_to_vdi_oid(vid), &fresh, 4, uint32_t(inode_map_offset(idx))).ok())
    return e;
  if (fresh && fresh != e) {
    std::unique_lock<std::shared_mutex> lk(mu_);
    if (header_.vdi_id == vid && idx < map_.size()) map_[idx] = fresh;
    e = fresh;
  }
  return e;
}

Status Vdi::read_block(uint64_t idx, char* buf, uint32_t len, uint32_t off) {
  auto got = shared_writer_ ? current_entry(idx) : map_entry(idx);
  if (!got.ok()) return err(got.code());
  const uint32_t owner = *got;
  if (!owner) {
    std::memset(buf, 0, len);
    return {};
  }
  uint64_t oid = vid_to_data_oid(owner, idx);
  if (local_ && local_->read(oid, copies_of(owner), buf, len, off)) return {};
  if (direct_ && direct_->read(oid, buf, len, off, uint8_t(copies_of(owner))).ok()) return {};
  SheepClient& c = read_pool_ ? read_pool_->pick() : client_;
  Status st = c.read_obj(oid, buf, len, off);
  // A connection that broke while idle (the sheep restarted) fails the
  // first call on it; a read may be sent again, on a new connection.
  if (st.code() == Res::NetworkError && c.broken()) st = c.read_obj(oid, buf, len, off);
  return st;
}

int Vdi::copies_of(uint32_t owner) {
  {
    std::shared_lock<std::shared_mutex> lk(mu_);
    // An erasure-coded VDI's objects are strips on disk: never read
    // locally (0 copies).
    if (owner == header_.vdi_id) return header_.copy_policy ? 0 : header_.nr_copies;
  }
  // A block still owned by a parent snapshot: that VDI's copy count, which
  // the sheep uses to place it (a clone may have been given another).
  std::lock_guard<std::mutex> lk(owner_copies_mu_);
  auto it = owner_copies_.find(owner);
  if (it != owner_copies_.end()) return it->second;
  auto h = read_inode_header(client_, owner);
  int copies = h.ok() && !h->copy_policy ? h->nr_copies : 0;  // 0: never read locally
  if (h.ok()) owner_copies_[owner] = copies;
  return copies;
}

Status Vdi::write(const void* buf, uint64_t len, uint64_t offset) {
  if (readonly_) return err(Res::Readonly);
  if (offset + len < offset || offset + len > size()) return err(Res::InvalidParms);
  const char* p = static_cast<const char*>(buf);
  const uint64_t osz = object_size();
  while (len) {
    uint64_t idx = offset / osz;
    uint32_t off = uint32_t(offset % osz);
    uint32_t n = uint32_t(std::min<uint64_t>(len, osz - off));
    SD_TRY(write_block(idx, p, n, off));
    p += n;
    offset += n;
    len -= n;
  }
  return {};
}

Status Vdi::write_block(uint64_t idx, const char* buf, uint32_t len, uint32_t off) {
  // A READONLY answer means our vid became a snapshot: refresh and retry,
  // which turns the write into copy-on-write against the new working vid.
  for (int attempt = 0; attempt < 8; attempt++) {
    // Register before reading the map: a copy-on-write of this block (after
    // a snapshot) then waits for every plain write that may still land in
    // the old object, and copies what it wrote.
    {
      std::lock_guard<std::mutex> lk(create_mu_);
      writing_[idx]++;
    }
    uint32_t vid, owner;
    uint8_t copies;
    bool replicated;
    {
      std::shared_lock<std::shared_mutex> lk(mu_);
      vid = header_.vdi_id;
      copies = header_.nr_copies;
      replicated = !header_.copy_policy;
    }
    // (With another writer, what it wrote is in the map now.)
    auto got = shared_writer_ ? current_entry(idx) : map_entry(idx);
    if (!got.ok()) {
      done_writing(idx);
      return err(got.code());
    }
    owner = *got;
    Status st;
    if (owner == vid) {
      const uint64_t oid = vid_to_data_oid(vid, idx);
      const uint64_t token = direct_ && replicated ? lock_token_() : 0;
      if (!token || !direct_->write(oid, buf, len, off, copies, token).ok())
        st = wc().write_obj(oid, buf, len, off, copies);
      done_writing(idx);
    } else {
      done_writing(idx);
      // Serialise creation of this index: wait for any create or plain
      // write in flight.
      {
        std::unique_lock<std::mutex> lk(create_mu_);
        create_cv_.wait(lk, [&] { return !creating_.count(idx) && !writing_.count(idx); });
        auto now = map_entry(idx);
        if (!now.ok()) return err(now.code());
        if (*now == vid) continue;  // created meanwhile: plain write
        creating_.insert(idx);
      }
      uint64_t cow = owner ? vid_to_data_oid(owner, idx) : 0;
      st = wc().create_and_write_obj(vid_to_data_oid(vid, idx), buf, len, off, copies, cow);
      if (st.ok()) {
        st = set_own_entry(vid, idx, vid, copies);
        if (st.ok() && !hyper_) {
          uint32_t child = 0;
          uint8_t child_copies = 0;
          {
            std::unique_lock<std::shared_mutex> lk(mu_);
            if (header_.vdi_id == vid && idx < map_.size()) {
              map_[idx] = vid;
            } else if (header_.parent_vdi_id == vid && idx < map_.size() && map_[idx] == 0) {
              // Snapshotted while we created it: the child takes the block
              // (see load()).
              map_[idx] = vid;
              child = header_.vdi_id;
              child_copies = header_.nr_copies;
            }
          }
          if (child) st = reference_block(child, idx, vid, child_copies);
        }
      }
      {
        std::lock_guard<std::mutex> lk(create_mu_);
        creating_.erase(idx);
      }
      create_cv_.notify_all();
    }
    if (st.code() != Res::Readonly) return st;
    SD_TRY(refresh());
    if (readonly_) return err(Res::Readonly);
  }
  return err(Res::Readonly);
}

void Vdi::done_writing(uint64_t idx) {
  {
    std::lock_guard<std::mutex> lk(create_mu_);
    auto it = writing_.find(idx);
    if (--it->second == 0) writing_.erase(it);
  }
  create_cv_.notify_all();
}

Status Vdi::discard(uint64_t len, uint64_t offset) {
  if (readonly_) return err(Res::Readonly);
  if (offset + len < offset || offset + len > size()) return err(Res::InvalidParms);
  const uint64_t osz = object_size();
  static const std::vector<char> zeros(1u << 20);
  while (len) {
    uint64_t idx = offset / osz;
    uint32_t off = uint32_t(offset % osz);
    uint32_t n = uint32_t(std::min<uint64_t>(len, osz - off));
    auto owner = map_entry(idx);
    if (!owner.ok()) return err(owner.code());
    if (*owner) {
      if (off == 0 && n == osz) {
        SD_TRY(unmap_block(idx));
      } else {
        for (uint32_t done = 0; done < n;) {
          uint32_t k = uint32_t(std::min<uint64_t>(n - done, zeros.size()));
          SD_TRY(write_block(idx, zeros.data(), k, off + done));
          done += k;
        }
      }
    }
    offset += n;
    len -= n;
  }
  return {};
}

Status Vdi::unmap_block(uint64_t idx) {
  // Wait for any creation of this block to finish, and keep others out.
  {
    std::unique_lock<std::mutex> lk(create_mu_);
    create_cv_.wait(lk, [&] { return !creating_.count(idx); });
    creating_.insert(idx);
  }
  uint32_t vid, zero = 0;
  uint8_t copies;
  {
    std::shared_lock<std::shared_mutex> lk(mu_);
    vid = header_.vdi_id;
    copies = header_.nr_copies;
  }
  auto old = hyper_ ? map_entry(idx) : Result<uint32_t>(0u);
  Status st = old.ok() ? set_own_entry(vid, idx, zero, copies) : Status(err(old.code()));
  if (st.ok() && !hyper_) {
    std::unique_lock<std::shared_mutex> lk(mu_);
    if (idx < map_.size()) map_[idx] = 0;
  }
  // A hyper volume's sheep frees nothing when an entry changes: an object
  // of our own that the tree stopped naming goes now. Only our vid's tree
  // can name it (a snapshot would have frozen the tree and refused the
  // update), unless another writer shares the volume.
  if (st.ok() && hyper_ && *old == vid && !shared_writer_) {
    Status rm = wc().remove_obj(vid_to_data_oid(vid, idx), copies);
    if (!rm.ok() && rm.code() != Res::NoObj) st = rm;
  }
  {
    std::lock_guard<std::mutex> lk(create_mu_);
    creating_.erase(idx);
  }
  create_cv_.notify_all();
  return st;
}

}  // namespace sd
