// The B-tree block map of hyper volumes (see hyper_map.h).
#include "hyper_map.h"

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "oid.h"
#include "proto/inode.h"

namespace sd {

namespace {

constexpr uint32_t kRootOffset = uint32_t(kInodeHeaderSize);  // data_vdi_id
constexpr uint32_t kCounterOffset = uint32_t(offsetof(InodeHeader, btree_counter));
constexpr size_t kLeafEntrySize = 8;
constexpr size_t kIndirectEntrySize = 16;


std::vector<uint8_t> encode(const std::vector<HyperMap::Entry>& e, size_t from, size_t to) {
  to = std::min(to, e.size());
  std::vector<uint8_t> out((to - from) * kLeafEntrySize);
  for (size_t i = from; i < to; i++) {
    std::memcpy(&out[(i - from) * 8], &e[i].idx, 4);
    std::memcpy(&out[(i - from) * 8 + 4], &e[i].owner, 4);
  }
  return out;
}

std::vector<uint8_t> encode(const std::vector<HyperMap::Indirect>& e, size_t from, size_t to) {
  to = std::min(to, e.size());
  std::vector<uint8_t> out((to - from) * kIndirectEntrySize, 0);
  for (size_t i = from; i < to; i++) {
    std::memcpy(&out[(i - from) * 16], &e[i].idx, 4);
    std::memcpy(&out[(i - from) * 16 + 8], &e[i].oid, 8);
  }
  return out;
}

template <class T>
auto lower(std::vector<T>& v, uint32_t idx) {
  return std::lower_bound(v.begin(), v.end(), idx,
                          [](const T& e, uint32_t want) { return e.idx < want; });
}

}  // namespace

BtreeHeader get_btree_header(const void* p) {
  const auto* b = static_cast<const uint8_t*>(p);
  BtreeHeader h;
  std::memcpy(&h.magic, b, 2);
  std::memcpy(&h.depth, b + 2, 2);
  std::memcpy(&h.entries, b + 4, 4);
  return h;
}

void put_btree_header(void* p, uint16_t depth, uint32_t entries) {
  auto* b = static_cast<uint8_t*>(p);
  const uint16_t magic = kBtreeMagic;
  std::memcpy(b, &magic, 2);
  std::memcpy(b + 2, &depth, 2);
  std::memcpy(b + 4, &entries, 4);
}

HyperMap::HyperMap(HyperMapIo& io, uint32_t vid, size_t max_leaves, Limits limits)
    : io_(io), vid_(vid), max_leaves_(std::max<size_t>(1, max_leaves)), limits_(limits) {}

HyperMap::HyperMap(HyperMapIo& io, uint32_t vid, size_t max_leaves)
    : HyperMap(io, vid, max_leaves, Limits{}) {}

Status HyperMap::load() {
  stale_ = true;  // until the whole tree is read
  SD_TRY(load_tree());
  stale_ = false;
  return {};
}

Status HyperMap::load_tree() {
  const uint64_t inode = vid_to_vdi_oid(vid_);
  uint8_t hb[kBtreeHeaderSize];
  SD_TRY(io_.read(inode, hb, sizeof(hb), kRootOffset));
  SD_TRY(io_.read(inode, &counter_, sizeof(counter_), kCounterOffset));
  leaf_root_.clear();
  indirect_.clear();
  leaves_.clear();
  depth_ = 1;
  uint32_t first;
  std::memcpy(&first, hb, 4);
  if (first == 0) return {};  // never initialised: every block unallocated
  BtreeHeader h = get_btree_header(hb);
  // What the inode says is checked against the format before anything is
  // sized from it.
  if (h.magic != kBtreeMagic || (h.depth != 1 && h.depth != 2) ||
      h.entries > (h.depth == 1 ? kBtreeMaxLeafEntries : kBtreeMaxIndirectEntries))
    return err(Res::Eio);
  depth_ = h.depth;
  const size_t esize = depth_ == 1 ? kLeafEntrySize : kIndirectEntrySize;
  std::vector<uint8_t> raw(h.entries * esize);
  if (!raw.empty())
    SD_TRY(io_.read(inode, raw.data(), uint32_t(raw.size()), kRootOffset + kBtreeHeaderSize));
  for (uint32_t i = 0; i < h.entries; i++) {
    if (depth_ == 1) {
      Entry e;
      std::memcpy(&e.idx, &raw[i * 8], 4);
      std::memcpy(&e.owner, &raw[i * 8 + 4], 4);
      leaf_root_.push_back(e);
    } else {
      Indirect e;
      std::memcpy(&e.idx, &raw[i * 16], 4);
      std::memcpy(&e.oid, &raw[i * 16 + 8], 8);
      indirect_.push_back(e);
    }
  }
  return {};
}

Status HyperMap::init_empty() {
  leaf_root_.clear();
  indirect_.clear();
  leaves_.clear();
  depth_ = 1;
  return write_root(0);
}

Result<HyperMap::Leaf*> HyperMap::leaf(uint64_t oid) {
  for (auto it = leaves_.begin(); it != leaves_.end(); ++it) {
    if (it->oid != oid) continue;
    leaves_.splice(leaves_.begin(), leaves_, it);
    return &leaves_.front();
  }
  uint8_t hb[kBtreeHeaderSize];
  SD_TRY(io_.read(oid, hb, sizeof(hb), 0));
  BtreeHeader h = get_btree_header(hb);
  if (h.magic != kBtreeMagic || h.depth != 1 || h.entries > kBtreeMaxLeafEntries)
    return err(Res::Eio);
  // The least recently used leaf makes room first, and its memory is
  // reused: a lookup that reads a leaf holds max_leaves of them at most.
  Leaf l{oid, {}};
  if (leaves_.size() >= max_leaves_) {
    l.entries = std::move(leaves_.back().entries);
    leaves_.pop_back();
  }
  // Entries are read straight into place: in memory they are laid out as
  // on disk (two little-endian u32).
  static_assert(sizeof(Entry) == kLeafEntrySize && offsetof(Entry, owner) == 4);
  l.entries.resize(h.entries);
  if (h.entries)
    SD_TRY(io_.read(oid, l.entries.data(), uint32_t(h.entries * kLeafEntrySize),
                    kBtreeHeaderSize));
  leaves_.push_front(std::move(l));
  return &leaves_.front();
}

// How a node is written so that a crash (of the client too) between two
// requests never loses an entry. An update in place or an append writes
// the entries first and the header (with the new count) last: the old
// count then names only old entries. When entries moved (an insert before
// the end, a new root), the header and every entry go in one request, as
// upstream's dog writes a root: two requests could leave the old count
// over moved entries, one of them pushed out of it.
static bool rewrite_whole(size_t from, size_t to, size_t count) { return to == SIZE_MAX && from + 1 < count; }

Status HyperMap::write_root(size_t from, size_t to) {
  const uint64_t inode = vid_to_vdi_oid(vid_);
  const size_t esize = depth_ == 1 ? kLeafEntrySize : kIndirectEntrySize;
  uint8_t hb[kBtreeHeaderSize];
  put_btree_header(hb, uint16_t(depth_), uint32_t(root_entries()));
  if (rewrite_whole(from, to, root_entries())) {
    std::vector<uint8_t> body = depth_ == 1 ? encode(leaf_root_, 0, to) : encode(indirect_, 0, to);
    body.insert(body.begin(), hb, hb + kBtreeHeaderSize);
    return io_.write(inode, body.data(), uint32_t(body.size()), kRootOffset);
  }
  std::vector<uint8_t> body =
      depth_ == 1 ? encode(leaf_root_, from, to) : encode(indirect_, from, to);
  if (!body.empty())
    SD_TRY(io_.write(inode, body.data(), uint32_t(body.size()),
                     uint32_t(kRootOffset + kBtreeHeaderSize + from * esize)));
  return io_.write(inode, hb, sizeof(hb), kRootOffset);
}

Status HyperMap::write_leaf(const Leaf& l, size_t from, bool create, size_t to) {
  uint8_t hb[kBtreeHeaderSize];
  put_btree_header(hb, 1, uint32_t(l.entries.size()));
  if (!create && rewrite_whole(from, to, l.entries.size())) from = 0;  // one request
  std::vector<uint8_t> body = encode(l.entries, from, to);
  if (create || from == 0) {
    std::vector<uint8_t> whole(kBtreeHeaderSize + body.size());
    std::memcpy(whole.data(), hb, kBtreeHeaderSize);
    if (!body.empty()) std::memcpy(whole.data() + kBtreeHeaderSize, body.data(), body.size());
    return create ? io_.create(l.oid, whole.data(), uint32_t(whole.size()), 0)
                  : io_.write(l.oid, whole.data(), uint32_t(whole.size()), 0);
  }
  if (!body.empty())
    SD_TRY(io_.write(l.oid, body.data(), uint32_t(body.size()),
                     uint32_t(kBtreeHeaderSize + from * kLeafEntrySize)));
  return io_.write(l.oid, hb, sizeof(hb), 0);
}

// New leaves take btree_counter's values; the counter is written before
// any root names them, so a crash never lets two leaves share an oid.
Status HyperMap::bump_counter(uint32_t n, uint64_t* oid) {
  *oid = vid_to_btree_oid(vid_, counter_);
  uint32_t next = counter_ + n;
  SD_TRY(io_.write(vid_to_vdi_oid(vid_), &next, sizeof(next), kCounterOffset));
  counter_ = next;
  return {};
}

bool HyperMap::peek(uint32_t idx, uint32_t* owner) const {
  if (stale_) return false;
  auto find = [&](const std::vector<Entry>& v) {
    auto it = std::lower_bound(v.begin(), v.end(), idx,
                               [](const Entry& e, uint32_t want) { return e.idx < want; });
    *owner = it != v.end() && it->idx == idx ? it->owner : 0u;
    return true;
  };
  if (depth_ == 1) return find(leaf_root_);
  auto k = std::lower_bound(indirect_.begin(), indirect_.end(), idx,
                            [](const Indirect& e, uint32_t want) { return e.idx < want; });
  if (k == indirect_.end()) {
    *owner = 0;
    return true;
  }
  for (const Leaf& l : leaves_)
    if (l.oid == k->oid) return find(l.entries);
  return false;
}

Result<uint32_t> HyperMap::lookup(uint32_t idx) {
  if (stale_) SD_TRY(load());
  if (depth_ == 1) {
    auto it = lower(leaf_root_, idx);
    return it != leaf_root_.end() && it->idx == idx ? it->owner : 0u;
  }
  auto k = lower(indirect_, idx);
  if (k == indirect_.end()) return 0u;
  auto l = leaf(k->oid);
  if (!l.ok()) return err(l.code());
  auto it = lower((*l)->entries, idx);
  return it != (*l)->entries.end() && it->idx == idx ? it->owner : 0u;
}

Status HyperMap::set(uint32_t idx, uint32_t owner) {
  if (stale_) SD_TRY(load());
  // A failed update may have changed the tree in memory and not on disk:
  // it is read again before it is used (a write that failed is not there).
  Status st = insert(idx, owner);
  if (!st.ok()) stale_ = true;
  return st;
}

Status HyperMap::insert(uint32_t idx, uint32_t owner) {
  if (depth_ == 2) return insert_depth2(idx, owner);
  auto it = lower(leaf_root_, idx);
  size_t pos = size_t(it - leaf_root_.begin());
  if (it != leaf_root_.end() && it->idx == idx) {
    it->owner = owner;
    return write_root(pos, pos + 1);
  }
  if (leaf_root_.size() < limits_.leaf_entries) {
    leaf_root_.insert(it, Entry{idx, owner});
    return write_root(pos);
  }
  SD_TRY(split_root());
  return insert_depth2(idx, owner);
}

Status HyperMap::split_root() {
  const size_t half = leaf_root_.size() / 2;
  uint64_t first;
  SD_TRY(bump_counter(2, &first));
  Leaf lo{first, {leaf_root_.begin(), leaf_root_.begin() + long(half)}};
  Leaf hi{first + 1, {leaf_root_.begin() + long(half), leaf_root_.end()}};
  SD_TRY(write_leaf(lo, 0, true));
  SD_TRY(write_leaf(hi, 0, true));
  indirect_ = {{lo.entries.back().idx, lo.oid}, {hi.entries.back().idx, hi.oid}};
  leaf_root_.clear();
  depth_ = 2;
  leaves_.push_front(std::move(lo));
  leaves_.push_front(std::move(hi));
  while (leaves_.size() > max_leaves_) leaves_.pop_back();
  return write_root(0);
}

Status HyperMap::insert_depth2(uint32_t idx, uint32_t owner) {
  auto k = lower(indirect_, idx);
  if (k == indirect_.end()) {
    // Beyond the last leaf's largest index: appended to the last leaf while
    // it has room, else to a new leaf.
    size_t last = indirect_.size() - 1;
    auto l = leaf(indirect_[last].oid);
    if (!l.ok()) return err(l.code());
    if ((*l)->entries.size() < limits_.leaf_entries) {
      (*l)->entries.push_back({idx, owner});
      SD_TRY(write_leaf(**l, (*l)->entries.size() - 1, false));
      indirect_[last].idx = idx;
      return write_root(last, last + 1);
    }
    if (indirect_.size() >= limits_.indirect_entries) return err(Res::NoSpace);
    uint64_t oid;
    SD_TRY(bump_counter(1, &oid));
    Leaf fresh{oid, {{idx, owner}}};
    SD_TRY(write_leaf(fresh, 0, true));
    indirect_.push_back({idx, oid});
    leaves_.push_front(std::move(fresh));
    while (leaves_.size() > max_leaves_) leaves_.pop_back();
    return write_root(indirect_.size() - 1);
  }
  const size_t kpos = size_t(k - indirect_.begin());
  auto l = leaf(k->oid);
  if (!l.ok()) return err(l.code());
  Leaf& lf = **l;
  auto it = lower(lf.entries, idx);
  size_t pos = size_t(it - lf.entries.begin());
  if (it != lf.entries.end() && it->idx == idx) {
    it->owner = owner;
    return write_leaf(lf, pos, false, pos + 1);
  }
  if (lf.entries.size() < limits_.leaf_entries) {
    lf.entries.insert(it, Entry{idx, owner});
    return write_leaf(lf, pos, false);
  }
  // A full leaf splits in half: the upper half moves to a new leaf, named
  // by a new indirect entry after this one.
  if (indirect_.size() >= limits_.indirect_entries) return err(Res::NoSpace);
  uint64_t oid;
  SD_TRY(bump_counter(1, &oid));
  const size_t half = lf.entries.size() / 2;
  Leaf upper{oid, {lf.entries.begin() + long(half), lf.entries.end()}};
  // The new leaf, then the root naming it, then the old leaf shrunk: a
  // crash in between leaves entries twice (found through the root's
  // choice of leaf all the same), never an entry in no leaf.
  SD_TRY(write_leaf(upper, 0, true));
  indirect_.insert(indirect_.begin() + long(kpos) + 1, {upper.entries.back().idx, oid});
  indirect_[kpos].idx = lf.entries[half - 1].idx;
  SD_TRY(write_root(kpos));
  lf.entries.resize(half);
  SD_TRY(write_leaf(lf, half, false, half));  // the header only: the count shrank
  leaves_.push_front(std::move(upper));
  while (leaves_.size() > max_leaves_) leaves_.pop_back();
  return insert_depth2(idx, owner);
}

Result<uint64_t> HyperMap::next_allocated(uint32_t from) {
  if (stale_) SD_TRY(load());
  if (depth_ == 1) {
    for (auto it = lower(leaf_root_, from); it != leaf_root_.end(); ++it)
      if (it->owner) return uint64_t(it->idx);
    return kNoBlock;
  }
  for (auto k = lower(indirect_, from); k != indirect_.end(); ++k) {
    const uint64_t oid = k->oid;
    auto l = leaf(oid);
    if (!l.ok()) return err(l.code());
    auto& entries = (*l)->entries;
    for (auto it = lower(entries, from); it != entries.end(); ++it)
      if (it->owner) return uint64_t(it->idx);
  }
  return kNoBlock;
}

Status HyperMap::for_each(const std::function<void(uint32_t idx, uint32_t owner)>& fn) {
  if (stale_) SD_TRY(load());
  if (depth_ == 1) {
    for (const Entry& e : leaf_root_) fn(e.idx, e.owner);
    return {};
  }
  for (size_t k = 0; k < indirect_.size(); k++) {
    auto l = leaf(indirect_[k].oid);
    if (!l.ok()) return err(l.code());
    for (const Entry& e : (*l)->entries) fn(e.idx, e.owner);
  }
  return {};
}

}  // namespace sd
