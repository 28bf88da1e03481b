// FarmStore: the local directory `dog cluster snapshot` keeps cluster
// snapshots in (the "farm"). This file owns its on-disk layout; the cluster
// side (which objects a snapshot holds, format and write-back) is in
// cluster_snapshot.cpp. docs/CLI.md "cluster snapshot (farm)" describes the
// layout for users.
//
// Layout of PATH (all integers little-endian, as the host writes them):
//
//   PATH/objects/XX/YYYY...  content-addressed blobs: the file name is the
//                            SHA-1 of the file's bytes in hex (XX: its first
//                            two digits, 256 directories made up front,
//                            YYYY: the other 38). A blob is a sheep object
//                            with its trailing zero bytes cut off (an inode
//                            object is 12 MiB, mostly zeros), or a trunk.
//                            A blob that exists is never written again, so
//                            a second save of an unchanged cluster writes
//                            only a new trunk and one user_snap record.
//   PATH/user_snap           the snapshot log: a 16-byte header ("SDFARM01",
//                            record size, 0) and one 296-byte SnapRecord per
//                            snapshot (index from 1, tag, time of the save,
//                            SHA-1 of its trunk), oldest first.
//
// A trunk (one per snapshot) is a blob: a 48-byte TrunkHeader ("SDTRUNK1",
// entry count, the cluster's copies / copy policy / block size shift /
// flags / store at save time) and one 40-byte TrunkEntry per object, in oid
// order: oid, the object's full size, the bytes kept, the copies / copy
// policy / block size shift it is written back with, and the blob's SHA-1.
//
// Crash safety: every file is written to a temporary name in its final
// directory, fsync'ed, renamed into place, and the directory fsync'ed;
// blobs are durable before the trunk naming them, the trunk before the
// user_snap record naming it. A crash leaves at worst unreferenced blobs
// and ".tmp-*" files, never a record naming missing data.
//
// Blobs are read back with their SHA-1 checked. put_blob() and get_blob()
// may be called from several threads at once.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "proto/node.h"
#include "result.h"

namespace dog {

using Sha1Digest = std::array<uint8_t, 20>;

std::string sha1_hex(const Sha1Digest& d);

struct SnapRecord {
  uint32_t idx;
  uint32_t reserved;
  uint64_t time;  // seconds since the epoch
  uint8_t trunk_sha1[20];
  uint8_t pad[4];
  char tag[256];  // NUL-terminated
};
static_assert(sizeof(SnapRecord) == 296);

struct TrunkHeader {
  char magic[8];  // "SDTRUNK1"
  uint32_t nr_entries;
  uint8_t copies;
  uint8_t copy_policy;
  uint8_t block_size_shift;
  uint8_t pad;
  uint16_t cluster_flags;
  uint8_t pad2[6];
  char store[sd::kStoreLen];  // the cluster's backend store, NUL padded
  uint8_t reserved[8];
};
static_assert(sizeof(TrunkHeader) == 48);

struct TrunkEntry {
  uint64_t oid;
  uint32_t object_size;  // bytes of the object in the cluster
  uint32_t stored_size;  // bytes kept in the blob (the rest are zeros)
  uint8_t copies;
  uint8_t copy_policy;
  uint8_t block_size_shift;
  uint8_t pad;
  uint8_t sha1[20];
};
static_assert(sizeof(TrunkEntry) == 40);

struct Trunk {
  TrunkHeader header{};
  std::vector<TrunkEntry> entries;
};

class FarmStore {
 public:
  // Creates PATH, PATH/objects and its 256 subdirectories when missing.
  // Prints what failed ("Fail to create directory: ...").
  sd::Status open(const std::string& path);

  // Stores bytes as a blob (nothing is written when it exists already).
  // *written tells whether a new file was made.
  sd::Result<Sha1Digest> put_blob(const void* data, size_t len, bool* written = nullptr);
  // A blob's bytes; the SHA-1 of what is read must match its name.
  sd::Result<std::vector<uint8_t>> get_blob(const Sha1Digest& sha) const;
  // Makes every blob written so far durable (their directories fsync'ed).
  sd::Status sync_blobs();

  // The snapshot log, oldest first (empty when there is no user_snap).
  sd::Result<std::vector<SnapRecord>> read_log() const;
  // The record whose index is idx or whose tag is tag (upstream's match:
  // either one), nullptr when there is none.
  static const SnapRecord* find(const std::vector<SnapRecord>& log, uint32_t idx,
                                const std::string& tag);
  // Appends a record (index: the number of records + 1) and returns it.
  sd::Result<SnapRecord> append_log(const std::string& tag, const Sha1Digest& trunk);

  sd::Result<Sha1Digest> put_trunk(const Trunk& t);
  sd::Result<Trunk> get_trunk(const Sha1Digest& sha) const;

 private:
  std::string blob_path(const Sha1Digest& sha) const;
  std::string dir_;
};

}  // namespace dog
