// PlainStore: objects as files under DIR/obj, one file per object named by
// its 16-digit lower-case hex oid (upstream's "plain" store). Of an
// erasure-coded object a node holds one strip, the file `<oid>_<i>`
// (docs/PROTOCOL.md §7.6); the store keys both kinds by oid and remembers
// which piece each file is (kWholeObject, or the strip index), so a node
// never keeps two pieces of one object live.
//
// Two layouts, chosen at format (docs/PROTOCOL.md §9.3): `plain` keeps
// every file in DIR/obj; `tree` (upstream's second backend) keeps inode,
// vmstate, attribute and B-tree objects in DIR/obj/meta and data and
// ledger objects in DIR/obj/XX, XX being the VID's low byte in hex. Scans
// (start-up, lists, purge, space) look in every place either layout uses,
// so a switch at format never loses track of a file.
//
// Durability: write() returns only after its data is on stable storage
// (unless nosync; concurrent writes to one object share an fdatasync), and a
// create goes through a private tmp file that is synced, renamed into place
// and followed by an fsync of the directory, so a crash leaves either the
// old object or the complete new one. Files are kept at their full object
// size (sparse), so unwritten ranges read as zeros.
//
// Object files stay open between requests (FdCache); every path that
// replaces or removes a file invalidates its cached descriptor first.
//
// Block checksums (docs/PROTOCOL.md §9.7, store/checksummed_io.cpp): every
// file created gets the CRC32C of each of its blocks in an extended
// attribute, kept in step by every write (synced with fsync, not
// fdatasync, so that they are on disk with the bytes), and every read
// checks the blocks it touches. A block that does not match is never
// returned: the read fails with EIO (the gateway then reads another copy)
// and the corruption hook is told, so the copy gets repaired. Files
// without the attribute (written by an older daemon, or on a filesystem
// without user xattrs) are served unchecked until the scrubber seals them.
#pragma once
#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "block_checksum.h"
#include "erasure_code.h"
#include "result.h"
#include "store/fd_cache.h"

namespace sd {

// True when name is exactly 16 hex digits; sets *oid.
bool parse_oid_name(const char* name, uint64_t* oid);
// True when name is an object file name, `<oid>` or `<oid>_<i>`; sets
// *oid and *piece.
bool parse_object_name(const char* name, uint64_t* oid, int* piece);
// The file name of a piece of oid.
std::string object_file_name(uint64_t oid, int piece);

enum class StoreLayout { Plain, Tree };

class PlainStore {
 public:
  // "Whichever piece is here", where a piece is asked for.
  static constexpr int kAnyPiece = -2;

  // The layout of new and looked-up files; Plain until set. Tree creates
  // its directories. Set before objects are served (start-up, format,
  // joining a formatted cluster).
  Status set_layout(StoreLayout layout);
  StoreLayout layout() const { return layout_.load(); }

  // fd_capacity: how many object files stay open between requests.
  PlainStore(std::string obj_dir, bool nosync, size_t fd_capacity = fd_budget(4096))
      : dir_(std::move(obj_dir)), nosync_(nosync), fds_(fd_capacity) {}

  // Creates the directories and removes tmp files left by a crash.
  Status init();
  // `piece`: the piece the caller means; NoObj when the live file is
  // another one (kAnyPiece: whichever).
  Status read(uint64_t oid, void* buf, uint32_t len, uint64_t offset,
              int piece = kAnyPiece) const;
  // A read that never blocks: true only when the object's file is already
  // open and all len bytes came from the page cache. The event loop uses it
  // to answer hot reads without a thread hop; false means "use read()".
  bool read_cached(uint64_t oid, void* buf, uint32_t len, uint64_t offset,
                   int piece = kWholeObject) const;
  // The bytes as they are on disk, not checked against the checksums
  // (GET_HASH, whose callers compare copies themselves).
  Status read_unchecked(uint64_t oid, void* buf, uint32_t len, uint64_t offset) const;
  Status write(uint64_t oid, const void* buf, uint32_t len, uint64_t offset,
               int piece = kAnyPiece);
  // Creates or replaces the object's piece here: `size` bytes, zero
  // outside [offset, offset+len). A live file of another piece of oid
  // moves to .stale (as of epoch 0: of unknown age) once the new one is in
  // place.
  //
  // With `unless_changed_from` (a SHA-1), only a live whole object is
  // replaced, and only while its `size` bytes (zeros past its end, as
  // GET_HASH reads them) still hash to it: Again when they changed since
  // (a write came in after they were hashed), NoObj when there is none.
  // The check and the rename are one step for this store's writes of oid,
  // so a write is either in the bytes hashed or applied to the new file
  // (the scrubber's majority repair, docs/PROTOCOL.md §9.7).
  Status create_and_write(uint64_t oid, uint64_t size, const void* buf, uint32_t len,
                          uint64_t offset, int piece = kWholeObject,
                          const uint8_t* unless_changed_from = nullptr);
  // Removes the live file of oid, whichever piece it is.
  Status remove(uint64_t oid);
  bool exists(uint64_t oid) const;
  // The piece the live file of oid holds (kWholeObject when there is no
  // strip file of oid).
  int piece_of(uint64_t oid) const;
  // Every oid with a live file, each once.
  std::vector<uint64_t> list() const;
  // Removes every object and stale copy (format).
  Status purge();

  // Stale copies (docs/PROTOCOL.md §9.4, §10): .stale/<oid>.<E> is this node's copy
  // of an object as it was at the end of epoch E. Never served as live;
  // recovery may take it back or send it to the node that needs it. An
  // index in memory (loaded by init()) answers lookups without scanning.
  // A strip's stale copy is .stale/<oid>_<i>.<E>.
  struct StaleCopy {
    uint64_t oid;
    uint32_t epoch;
    int piece;
  };
  // Renames the live object to .stale/<oid>.<epoch>.
  Status move_to_stale(uint64_t oid, uint32_t epoch);
  std::vector<StaleCopy> stale_list() const;
  // The epoch of the newest stale copy of oid that is at least min_epoch
  // (and holds `piece`, unless it is kAnyPiece).
  std::optional<uint32_t> newest_stale(uint64_t oid, uint32_t min_epoch = 0,
                                       int piece = kAnyPiece) const;
  // The piece of a stale copy of oid of `epoch` (`piece` itself when there
  // is one of it; kAnyPiece asks for the first; nullopt when none).
  std::optional<int> stale_piece(uint64_t oid, uint32_t epoch, int piece = kAnyPiece) const;
  // `piece`: which of the stale copies of that epoch (kAnyPiece: the
  // first there is).
  Status read_stale(uint64_t oid, uint32_t epoch, void* buf, uint32_t len, uint64_t offset,
                    int piece = kAnyPiece) const;
  // Puts a stale copy back in place as the live object (a rename, so the
  // copy leaves .stale). OidExist when a live copy appeared meanwhile.
  Status restore_stale(uint64_t oid, uint32_t epoch, int piece = kAnyPiece);
  // Removes every stale copy of oid.
  Status remove_stale(uint64_t oid);
  Status purge_stale();
  // Makes earlier renames between the object directory and .stale durable.
  Status sync_dirs() const;
  // Bytes allocated on disk by objects, and free bytes of the filesystem.
  uint64_t used_bytes() const;
  uint64_t fs_free() const;
  // The live objects (each piece counts as one) and the bytes they take
  // on disk, in one pass over the directory.
  struct Usage {
    uint64_t objects = 0;
    uint64_t bytes = 0;
  };
  Usage usage() const;
  const std::string& dir() const { return dir_; }

  // Moving objects between two disks of one node (disk_transfer.cpp): the
  // live file of oid, or one stale copy, goes to the same place in
  // `target` (a rename on one filesystem, else a synced copy and then an
  // unlink). A live copy already in target wins: ours is dropped. Callers
  // keep other users of oid out meanwhile (ObjectStore's oid locks).
  Status move_object_to(uint64_t oid, PlainStore& target);
  Status move_stale_to(const StaleCopy& copy, PlainStore& target);
  // Called after any object file is replaced or removed (the read lease).
  void set_invalidation_hook(std::function<void()> hook) { fds_.set_hook(std::move(hook)); }
  // Called once when the store itself fails: its directory was removed or
  // replaced, or the disk answered an I/O error. From then on failed() is
  // true and the node must not serve objects (set once, before use).
  void set_failure_hook(std::function<void(const std::string&)> hook) {
    failure_hook_ = std::move(hook);
  }
  bool failed() const { return failed_.load(); }

  // Block checksums (store/checksummed_io.cpp).
  // Called with the oid of a copy whose bytes do not match its checksums,
  // from the thread that found it (set once, before use).
  void set_corruption_hook(std::function<void(uint64_t oid)> hook) {
    corruption_hook_ = std::move(hook);
  }
  // False when this filesystem keeps no user xattrs: files get no checksums.
  bool checksums() const { return sums_on_.load(); }
  // Checks every block of oid's live file. Eio (and the hook told) when a
  // block does not match; *sealed (when given) says whether the file has
  // checksums at all (an unsealed file always passes).
  Status verify(uint64_t oid, bool* sealed = nullptr) const;
  // Gives oid's live file checksums computed from its bytes, if it has
  // none (the scrubber does this once the copies agree).
  Status seal(uint64_t oid);
  // Repairs oid's live file from `good`, a whole copy of the same piece
  // (`size` bytes) that another owner served verified: the blocks that do
  // not match their checksums take good's bytes; blocks that match are
  // left as they are and counted in *differing when good's differ.
  // Again when the file was written since `read_at_ms` (steady clock,
  // ms; then good may be older than ours: ask again later).
  struct Repair {
    uint32_t repaired = 0;   // bad blocks replaced
    uint32_t differing = 0;  // good blocks whose bytes differ from good's
  };
  Result<Repair> repair_blocks(uint64_t oid, const void* good, uint64_t size, int64_t read_at_ms);
  // The steady clock in ms, as repair_blocks() takes it.
  static int64_t now_ms();

 private:
  std::string path(uint64_t oid) const { return piece_path(oid, piece_of(oid)); }
  // The directory oid's files live in under the current layout.
  std::string object_dir(uint64_t oid) const;
  // Calls fn(dir fd, name) for every entry of every directory objects may
  // live in (DIR/obj, and meta/ and XX/ of the tree layout when present).
  void for_each_entry(const std::function<void(int dfd, const char* name)>& fn) const;
  std::string piece_path(uint64_t oid, int piece) const;
  std::string stale_path(uint64_t oid, uint32_t epoch, int piece) const;
  // Records which piece of oid is live here (kWholeObject: none or whole).
  void set_piece(uint64_t oid, int piece);
  // Moves the live file of `piece` to .stale as of epoch 0 (a piece
  // replaced by another, or found beside another at start-up).
  void set_aside(uint64_t oid, int piece);
  // Marks the store failed (once) and returns Eio.
  Status fail(const std::string& why) const;
  // An I/O errno: EIO (or EROFS, a filesystem gone read-only) means the disk failed.
  Status io_error(int e, const char* what, uint64_t oid) const;
  // The directory is still the one init() found (checked at most every
  // 100 ms: a write notices a removed store at once, and costs nothing).
  // now_please: check at once (an ENOENT that may mean the directory left).
  Status check_dir(bool now_please = false) const;
  Status load_stale_index();
  // The cached descriptor of oid's file, opened read-write on a miss.
  Result<std::shared_ptr<ObjectFd>> object_fd(uint64_t oid) const;
  // Checksum helpers (checksummed_io.cpp).
  static size_t lock_slot(uint64_t oid) { return (oid * 0x9e3779b97f4a7c15ull) >> 58; }
  std::shared_mutex& sum_lock(uint64_t oid) const { return sum_locks_[lock_slot(oid)]; }
  // Whether the live whole file of oid still hashes to `expect` (see
  // create_and_write); the caller holds its sum lock exclusively.
  Status live_hash_is(uint64_t oid, uint64_t size, const uint8_t* expect) const;
  // Renames tmp over oid's live file (which exists): under oid's sum lock,
  // with the replace count of its slot raised, so that a write that found
  // the old file's descriptor before takes the new one (see replaced_).
  Status replace_live(uint64_t oid, const std::string& tmp, const std::string& final_path,
                      const uint8_t* unless_changed_from, uint64_t size);
  // The file's checksums; nullopt when it has none (or they are garbled:
  // logged, and the file is then served unchecked).
  std::optional<BlockSums> load_sums(int fd, uint64_t oid) const;
  // Writes the checksums; on failure they are removed (an unchecked file
  // beats one that would fail every read) and the error returned.
  Status save_sums(int fd, const BlockSums& sums, uint64_t oid) const;
  // Reads [offset, offset+len) of fd checked against sums (whose lock the
  // caller holds).
  Status read_checked(uint64_t oid, int fd, const BlockSums& sums, void* buf, uint32_t len,
                      uint64_t offset, const char* what) const;
  // A write of a file with checksums: new sums computed from buf and the
  // old bytes of partly written blocks, bytes written, sums saved. Caller
  // holds the oid's sum lock exclusively.
  Status write_checked(uint64_t oid, int fd, BlockSums& sums, const void* buf, uint32_t len,
                       uint64_t offset);
  void report_corruption(uint64_t oid, uint64_t block, const char* what) const;
  // Probes the filesystem for user xattrs (init).
  void probe_xattrs();
  std::string dir_;
  bool nosync_;
  std::atomic<StoreLayout> layout_{StoreLayout::Plain};
  mutable FdCache fds_;
  std::function<void(const std::string&)> failure_hook_;
  mutable std::atomic<bool> failed_{false};
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  mutable std::atomic<int64_t> dir_checked_ms_{0};
  mutable std::mutex stale_mu_;
  // oid -> (epoch, piece) of every stale copy.
  std::map<uint64_t, std::set<std::pair<uint32_t, int>>> stale_;  // guarded by stale_mu_
  mutable std::mutex piece_mu_;
  // The strip index of every live strip file (whole objects are absent).
  std::unordered_map<uint64_t, int> pieces_;  // guarded by piece_mu_
  std::atomic<bool> any_pieces_{false};       // pieces_ was ever non-empty
  // Each pairs the bytes of the object files hashed to it with their
  // checksums: writers hold it exclusively from computing the new sums to
  // saving them, checked readers shared.
  mutable std::array<std::shared_mutex, 64> sum_locks_;
  // When a file hashed to the same slot was last written (now_ms()).
  mutable std::array<std::atomic<int64_t>, 64> written_ms_{};
  // How many times a live file hashed to the slot was replaced by a rename
  // (raised under the slot's sum lock): a writer that looked its
  // descriptor up before, and finds the count moved once it holds the
  // lock, looks it up again instead of writing to the replaced file.
  std::array<std::atomic<uint64_t>, 64> replaced_{};
  std::atomic<bool> sums_on_{true};
  std::function<void(uint64_t)> corruption_hook_;
};

}  // namespace sd
