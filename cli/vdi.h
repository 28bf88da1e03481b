// dog vdi: state shared between the vdi command files. vdi.cpp owns the
// option table, the command table and create/list/delete; vdi_io.cpp read
// and write; vdi_snapshot.cpp snapshot, clone, rollback and resize;
// vdi_tree.cpp tree and graph; vdi_object.cpp object and track;
// vdi_attr.cpp setattr and getattr; vdi_check.cpp check; vdi_backup.cpp
// backup and restore; vdi_lock.cpp lock; vdi_alter_copy.cpp alter-copy.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "dog.h"
#include "proto/inode.h"
#include "result.h"

namespace dog {

// Values of the vdi group's options for this run.
struct VdiOptions {
  uint32_t snapid = 0;   // -s N
  std::string tag;       // -s TAG
  bool prealloc = false;  // -P
  bool hyper = false;     // -y
  uint8_t copies = 0;     // -c (0: the cluster default)
  uint8_t copy_policy = 0;
  uint8_t block_size_shift = 0;  // -z (0: the cluster default)
  bool has_oid = false;          // -o
  uint64_t oid = 0;
  uint32_t batch = 128;          // -B: inode entries zeroed per write
  uint32_t interval = 0;         // -I: seconds between batches
  uint64_t max_reclaim = 0;      // -m: 0 = no limit
  bool writeback = false;        // -w (accepted; dog has no cache)
  bool has_index = false;        // -i
  uint64_t index = 0;
  bool exclusive = false;        // -x
  bool del = false;              // -d
  bool no_share = false;         // -n
  bool force = false;            // -f
  bool exist_only = false;       // -e
  bool reduce = false;           // -R
  bool has_from = false;         // -F N|TAG
  uint32_t from_snapid = 0;
  std::string from_tag;
};
extern VdiOptions vdi_opts;

// Transport failures reach dog as NetworkError; upstream shows them as the
// generic I/O error.
inline sd::Res shown_res(sd::Res r) { return r == sd::Res::NetworkError ? sd::Res::Eio : r; }

// "Failed to open VDI %s (snapshot id: %d snapshot tag: %s): %s"
void report_open_failure(const std::string& name, sd::Res res);

// A whole inode object (12.5 MB; allocate on the heap).
struct FullInode {
  sd::InodeHeader hdr;
  uint32_t data_vdi_id[sd::kInodeDataIndex];
  sd::GenerationRef gref[sd::kInodeDataIndex];
};
static_assert(sizeof(FullInode) == sd::kInodeSize);

// READ_OBJ of the whole inode of vid.
sd::Result<std::unique_ptr<FullInode>> read_full_inode(sd::SheepClient& c, uint32_t vid);

// The vid of NAME / -s for commands that open a VDI; on failure prints
// "Failed to open VDI ..." and returns the error.
sd::Result<uint32_t> open_vdi_id(sd::SheepClient& c, const std::string& name,
                                 const std::string& tag, uint32_t snapid);

// Releases the data objects of the VDI (batched by -B/-I/-m) and sends
// DEL_VDI; failures are printed as "Failed to delete %s: %s".
bool delete_vdi(sd::SheepClient& c, const std::string& name, const std::string& tag,
                uint32_t snapid, uint32_t vid, const sd::InodeHeader& h);

// Checks and repairs the replicas of every object of a VDI (vdi check and
// cluster check), printing "finish check&repair %s" at the end. Needs the
// node list in ctx. Returns the exit code.
int check_vdi(Context& ctx, const std::string& name, uint32_t vid, bool exist_only);

int vdi_read(Context& ctx);
int vdi_write(Context& ctx);
int vdi_snapshot(Context& ctx);
int vdi_clone(Context& ctx);
int vdi_rollback(Context& ctx);
int vdi_resize(Context& ctx);
int vdi_tree(Context& ctx);
int vdi_graph(Context& ctx);
int vdi_object(Context& ctx);
int vdi_track(Context& ctx);
int vdi_setattr(Context& ctx);
int vdi_getattr(Context& ctx);
int vdi_check(Context& ctx);
int vdi_backup(Context& ctx);
int vdi_restore(Context& ctx);
int vdi_alter_copy(Context& ctx);
int vdi_lock(Context& ctx);
extern const Subcommand kVdiObjectSubs[];
extern const size_t kNrVdiObjectSubs;
extern const Subcommand kVdiLockSubs[];
extern const size_t kNrVdiLockSubs;

// NEW_VDI for `name` with the layout (size, copies, policies, shift) of
// inode h: snapshots, rollbacks, restores.
sd::Status new_vdi(sd::SheepClient& c, const std::string& name, const sd::InodeHeader& h,
                   uint32_t base, uint32_t snapid, uint32_t* new_vid);

}  // namespace dog
