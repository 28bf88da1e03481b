// Vdi: a virtual disk opened by name (and optional snapshot tag or id),
// read and written as a byte range.
//
// It holds the inode header and the data_vdi_id entries of the disk, turns
// byte ranges into object requests, allocates an object on its first write
// (CREATE_AND_WRITE, then a 4-byte inode update), and does copy-on-write
// when an entry still names another vid (a parent snapshot). When a write
// meets READONLY (the disk was snapshotted behind our back) it looks the
// name up again and redoes the write as copy-on-write against the new vid.
//
// Thread safe: concurrent reads and writes are allowed; creations of the
// same object are serialised so only one CREATE is ever in flight per index,
// and a copy-on-write waits for the plain writes of that block still in
// flight to the old object. Blocks allocated in the old vid whose inode
// update missed a snapshot taken meanwhile are referenced from the new one.
//
// A hyper volume (store_policy 1) keeps its map as a B-tree (HyperMap,
// common/hyper_map.h): lookups go through it, with the root and a few
// leaves cached, and allocations insert into it. Its B-tree is frozen
// with the volume when it is snapshotted, so an insert refused READONLY is
// redone against the new working vid.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <map>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "client/client_pool.h"
#include "client/direct_io.h"
#include "client/local_reader.h"
#include "client/sheep_client.h"
#include "hyper_map.h"
#include "proto/inode.h"
#include "result.h"

namespace sd {

// GET_VDI_INFO: the vid for a name (working VDI), or for a snapshot given
// by tag or id. NoVdi / NoTag as the server says.
Result<uint32_t> lookup_vdi(SheepClient& c, const std::string& name, const std::string& tag = "",
                            uint32_t snapid = 0);

// Reads an inode's header (kInodeHeaderSize bytes).
Result<InodeHeader> read_inode_header(SheepClient& c, uint32_t vid);

// Sets entry idx of vid's inode map (data_vdi_id[idx]) to `owner`: the
// one place a client edits an inode map (the daemon then releases the
// object an entry stops naming).
Status set_map_entry(SheepClient& c, uint32_t vid, uint64_t idx, uint32_t owner,
                     uint8_t copies = 0);

class Vdi {
 public:
  static Result<std::unique_ptr<Vdi>> open(SheepClient& c, const std::string& name,
                                           const std::string& tag = "", uint32_t snapid = 0);

  ~Vdi();
  uint32_t vid() const;
  uint64_t size() const;
  uint64_t object_size() const { return 1ull << block_size_shift_; }
  bool is_snapshot() const { return readonly_.load(); }
  InodeHeader header() const;
  bool is_hyper() const { return hyper_.load(); }
  // Owner vid of block idx (0 = unallocated).
  Result<uint32_t> map_entry(uint64_t idx);
  // The first allocated block at or after idx, or kNoBlock.
  static constexpr uint64_t kNoBlock = UINT64_MAX;
  Result<uint64_t> next_allocated(uint64_t idx);

  // Byte-range I/O; ranges beyond size() are InvalidParms.
  Status read(void* buf, uint64_t len, uint64_t offset);
  Status write(const void* buf, uint64_t len, uint64_t offset);

  // Unmaps [offset, offset+len): whole objects are dropped from the map
  // (their entry becomes 0, so they read as zeros and the daemon frees what
  // nothing references); partial ranges of allocated objects get zeros.
  Status discard(uint64_t len, uint64_t offset);

  // Looks the name up again and reloads the inode (after a snapshot).
  Status refresh();

  // Another client writes this VDI too (a shared lock, for a hand-over):
  // map entries that are not ours are read again from the inode before a
  // block is read as zeros or allocated, so blocks the other allocated are
  // seen.
  void set_shared_writer(bool on) { shared_writer_ = on; }

  // Reads data objects through `reader` (a sheep on this machine) when it
  // can, else through the client. The reader must outlive the Vdi.
  void set_local_reader(LocalReader* reader) { local_ = reader; }

  // Sends every write (data objects and inode map entries) through
  // `writer`, the connection that holds the VDI's lock, instead of the
  // client it was opened with. It must outlive the Vdi.
  void set_write_client(SheepClient* writer) { writer_ = writer; }

  // Sends reads of data objects through a connection of `pool` (the
  // calling thread's), instead of the client it was opened with. It must
  // outlive the Vdi.
  void set_read_pool(ClientPool* pool) { read_pool_ = pool; }

  // Sends plain writes of existing data objects to their first owner
  // through `direct`, proving the VDI's lock with the token `lock_token`
  // returns (0: no lock held now, write through the gateway), and reads
  // of objects the gateway holds no copy of to an owner. Whatever fails
  // there goes through the gateway as before. Replicated VDIs only.
  // `direct` must outlive the Vdi.
  void set_direct_io(DirectIo* direct, std::function<uint64_t()> lock_token) {
    direct_ = direct;
    lock_token_ = std::move(lock_token);
  }

 private:
  Vdi(SheepClient& c, std::string name, std::string tag, uint32_t snapid);
  Status load(uint32_t vid);
  Status read_block(uint64_t idx, char* buf, uint32_t len, uint32_t off);
  Status write_block(uint64_t idx, const char* buf, uint32_t len, uint32_t off);
  Status unmap_block(uint64_t idx);
  // A plain write of block idx is over (see write_block).
  void done_writing(uint64_t idx);
  // map_entry(idx), read again from the inode when another writer may
  // have changed it (set_shared_writer).
  Result<uint32_t> current_entry(uint64_t idx);
  // Sets block idx of our own vid's map to owner: the flat entry, or an
  // insert into the B-tree (Readonly once the vid is a snapshot).
  Status set_own_entry(uint32_t vid, uint64_t idx, uint32_t owner, uint8_t copies);
  Status load_tree(const InodeHeader& h);
  // Sets entry idx of vid's inode map to owner.
  Status reference_block(uint32_t vid, uint64_t idx, uint32_t owner, uint8_t copies);
  // Copies kept of blocks owned by vid `owner` (for local reads).
  int copies_of(uint32_t owner);

  // The connection writes go through (set_write_client).
  SheepClient& wc() { return writer_ ? *writer_ : client_; }

  SheepClient& client_;
  SheepClient* writer_ = nullptr;
  ClientPool* read_pool_ = nullptr;
  DirectIo* direct_ = nullptr;
  std::function<uint64_t()> lock_token_;
  LocalReader* local_ = nullptr;
  std::mutex owner_copies_mu_;
  std::map<uint32_t, int> owner_copies_;
  const std::string name_;
  const std::string tag_;
  const uint32_t snapid_;
  std::atomic<bool> readonly_{false};
  std::atomic<bool> shared_writer_{false};
  uint8_t block_size_shift_ = kDefaultBlockSizeShift;

  mutable std::shared_mutex mu_;  // guards header_ and map_
  InodeHeader header_{};
  std::vector<uint32_t> map_;
  std::atomic<bool> hyper_{false};

  // The B-tree of a hyper volume's current vid, and what it reads and
  // writes through (this Vdi's connections).
  std::unique_ptr<HyperMapIo> tree_io_;
  // Guards tree_: shared for lookups answered from memory (HyperMap::peek),
  // exclusive for those that read a leaf (the cache moves) and for inserts.
  std::shared_mutex tree_mu_;
  std::unique_ptr<HyperMap> tree_;

  std::mutex create_mu_;  // guards creating_ and writing_
  std::condition_variable create_cv_;
  std::set<uint64_t> creating_;
  std::map<uint64_t, int> writing_;  // plain writes in flight per index
  std::mutex refresh_mu_;
};

}  // namespace sd
