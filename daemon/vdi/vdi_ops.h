// VDI operations inside the daemon (docs/PROTOCOL.md §6): name lookup over the
// hash-probed vid chain, create / clone / snapshot / rollback (NEW_VDI),
// delete (DEL_VDI), and the release of data objects when an inode's map
// entry stops naming them.
//
// They read and write inodes through the Gateway, so they work the same on
// one node or many; every node learns the outcome through Group messages.
// VDI operations are serialised by one lock per sheep.
//
// Writes into an inode's map go through write_inode(): entries that stop
// naming an object release it, on the master (release_objects()).
//
// Folder vdi/ may use base/, peers/, group/ and gateway/.
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "proto/inode.h"
#include "result.h"
#include "vdi/hyper_tree.h"

namespace sd {

class Gateway;
class Group;
class PeerPool;
class VdiLocks;
class VdiTable;

struct VdiLookup {
  std::string name;
  std::string tag;
  uint32_t snapid = 0;
};

struct NewVdiParams {
  std::string name;
  uint64_t size = 0;
  uint32_t base_vid = 0;
  uint32_t snapid = 0;  // non-zero: snapshot or rollback
  uint8_t copies = 0;
  uint8_t copy_policy = 0;
  uint8_t store_policy = 0;
  uint8_t block_size_shift = 0;
};

struct VdiReply {
  uint32_t vid = 0;
  uint32_t attr_id = 0;
  uint8_t copies = 0;
  uint8_t block_size_shift = 0;
};

class VdiOps {
 public:
  // admin_peers reaches the master (release of objects); locks says which
  // VDIs a client holds (those are not deleted).
  VdiOps(Gateway& gateway, VdiTable& vdis, const VdiLocks& locks, Group& group,
         PeerPool& admin_peers)
      : gateway_(gateway),
        vdis_(vdis),
        locks_(locks),
        group_(group),
        admin_peers_(admin_peers),
        hyper_(gateway) {}
  Result<VdiReply> get_info(const VdiLookup& q);
  Result<VdiReply> create(const NewVdiParams& p);
  // DEL_VDI. VdiLocked while a client holds the VDI's lock (checked again
  // where the deletion is decided, in the cluster's order).
  Result<VdiReply> remove(const VdiLookup& q);
  // GET_VDI_ATTR: finds (creating, replacing or deleting per `flags`) the
  // attribute object for attr's name/tag/snap_id/key. Returns the object's
  // vid (sd_hash_vdi of the name) and attribute id.
  Result<VdiReply> attr(const VdiAttr& attr, uint32_t snapid, uint16_t flags);
  // An inode map entry stopped naming object (vid, idx) for each pair:
  // frees every such object that no live inode references any more. Only
  // X and the VDIs descended from X can name oid(X, i), so the family is
  // all that is read. Runs under the VDI lock, so no snapshot or clone
  // can copy a reference while the check runs.
  void release_objects(const std::vector<std::pair<uint32_t, uint32_t>>& objects);
  // Writes len bytes at offset of inode oid; map entries the write changes
  // release the objects they named (on the master, which may be another
  // node).
  Status write_inode(uint64_t oid, const char* data, uint32_t len, uint32_t offset, uint8_t copies);

 private:
  struct Found {
    Res res = Res::NoVdi;
    uint32_t vid = 0;        // the match
    uint32_t free_vid = 0;   // the vid a new VDI of this name would get
    uint32_t next_snap_id = 1;
  };
  Found lookup(const VdiLookup& q);
  // Recycled VIDs: frees the inodes and vids of vid's family once every
  // member is deleted.
  void release_family(uint32_t vid);
  // Frees the objects of a deleted hyper volume that no live descendant
  // reads, and empties its B-tree root.
  void free_hyper(uint32_t vid, uint8_t copies);
  VdiReply reply_for(uint32_t vid, const InodeHeader& h) const;

  // Sends released (vid, idx) objects to the master to be freed there.
  void release_on_master(const std::vector<std::pair<uint32_t, uint32_t>>& objects);

  Gateway& gateway_;
  VdiTable& vdis_;
  const VdiLocks& locks_;
  Group& group_;
  PeerPool& admin_peers_;
  HyperTree hyper_;  // hyper volumes' B-trees
  std::mutex mu_;
};

}  // namespace sd
