// LocalTransport: the ordered transport of the local driver, for several
// sheep on one machine.
//
// Everything lives in one directory (default /run/sheepdog/local for root,
// $XDG_RUNTIME_DIR/sheepdog/local for others, or the PATH of
// `-c local:PATH`). Whoever can write there can speak for any sheep, so it
// must belong to this user and be writable by nobody else: it is created
// 0700, refused otherwise, and everything in it is opened relative to it
// without following symlinks. Participant ids read from the log are
// checked before they name a file. With a cluster key, GONE frames carry a
// MAC (records are sealed by MembershipProtocol), so nobody without the
// key can announce a member's death.
//   log       an append-only file of framed records; appends happen under
//             an exclusive flock of the file, so the file order is the total
//             order every reader delivers;
//   nodes/ID  one file per live participant, flock'ed by its process for as
//             long as it lives.
// A participant whose node file can be locked by someone else is dead: the
// first to notice appends a GONE frame for it (under the log lock) and
// removes the file. Readers follow the log with inotify and re-check
// liveness every 100 ms, so a kill -9 is seen as a leave within ~0.2 s.
// When a process starts and finds no live participant, it truncates the log.
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <dirent.h>
#include <random>
#include <set>
#include <thread>

#include "cluster/membership_protocol.h"
#include "cluster/transport.h"
#include "cluster/wire_buffer.h"
#include "base/file_util.h"
#include "base/log.h"
#include "base/rate_limit.h"

namespace sd {

namespace {

enum FrameKind : uint8_t { kRecord = 1, kGone = 2 };
constexpr char kGonePurpose[] = "sheepdog local gone";

// Ids are ours ("p<pid>-<n>"): anything else in the log is not a
// participant, and must never name a file.
bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  return true;
}

// Creates (0700) or checks the directory and its nodes/ (see above); on
// success *dir_fd and *nodes_fd are open on them.
bool open_local_dirs(const std::string& dir, int* dir_fd, int* nodes_fd, std::string* why) {
  struct stat st;
  if (lstat(dir.c_str(), &st) < 0 && errno == ENOENT && !make_dirs(dir, 0700)) {
    *why = std::string("cannot create it: ") + std::strerror(errno);
    return false;
  }
  *dir_fd = open_private_dir(dir, why);
  if (*dir_fd < 0) return false;
  if (mkdirat(*dir_fd, "nodes", 0700) < 0 && errno != EEXIST) {
    *why = dir + "/nodes: " + std::strerror(errno);
    return false;
  }
  *nodes_fd = openat(*dir_fd, "nodes", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (*nodes_fd < 0) {
    *why = dir + "/nodes: not a directory of ours";
    return false;
  }
  if (!check_private(*nodes_fd, dir + "/nodes", why)) return false;
  // The log, when there is one, must be a file of ours (never a symlink
  // to somebody else's file, which the first sheep would truncate).
  if (fstatat(*dir_fd, "log", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))) {
    *why = dir + "/log is " +
           (S_ISLNK(st.st_mode)   ? std::string("a symlink")
            : !S_ISREG(st.st_mode) ? std::string("not a regular file")
                                   : std::string("not this user's, or writable by others"));
    return false;
  }
  return true;
}

class LocalTransport : public OrderedTransport {
 public:
  LocalTransport(std::string dir, ClusterKey key) : dir_(std::move(dir)), key_(std::move(key)) {}
  ~LocalTransport() override { stop(); }

  Result<std::string> start(TransportEvents* events) override {
    events_ = events;
    std::string why;
    if (!open_dirs(&why)) {
      sd_err("cannot use %s for the local cluster driver: %s", dir_.c_str(), why.c_str());
      return err(Res::ClusterError);
    }
    std::random_device rd;
    id_ = "p" + std::to_string(getpid()) + "-" + std::to_string(rd() % 1000000);
    // The node file appears already locked (created under another name,
    // locked, then renamed): nobody may ever find it unlocked and take
    // this live process for a dead one.
    std::string tmp = ".new-" + id_;
    node_fd_ = openat(nodes_fd_, tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                      0600);
    if (node_fd_ < 0 || flock(node_fd_, LOCK_EX | LOCK_NB) < 0 ||
        renameat(nodes_fd_, tmp.c_str(), nodes_fd_, id_.c_str()) < 0) {
      sd_err("cannot lock %s/nodes/%s: %s", dir_.c_str(), id_.c_str(), std::strerror(errno));
      unlinkat(nodes_fd_, tmp.c_str(), 0);
      return err(Res::ClusterError);
    }
    log_fd_ = openat(dir_fd_, "log", O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    struct stat st;
    if (log_fd_ < 0 || fstat(log_fd_, &st) < 0 || !S_ISREG(st.st_mode) ||
        !check_private(log_fd_, dir_ + "/log", &why)) {
      if (why.empty())
        why = dir_ + "/log: " + (log_fd_ < 0 && errno == ELOOP ? "a symlink" :
                                 log_fd_ < 0 ? std::strerror(errno) : "not a regular file");
      sd_err("cannot use the local cluster driver's log: %s", why.c_str());
      return err(Res::ClusterError);
    }
    // Start from a clean log when nobody else is alive.
    flock(log_fd_, LOCK_EX);
    if (!any_other_alive()) {
      if (ftruncate(log_fd_, 0) < 0) sd_err("cannot truncate the cluster log");
      for (const auto& id : node_files())
        if (id != id_) unlinkat(nodes_fd_, id.c_str(), 0);
    }
    flock(log_fd_, LOCK_UN);
    inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotify_fd_ >= 0) inotify_add_watch(inotify_fd_, (dir_ + "/log").c_str(), IN_MODIFY);
    thread_ = std::thread([this] { reader_loop(); });
    return id_;
  }

  Status send(const std::vector<char>& rec) override { return append(kRecord, id_, rec); }
  bool has_history() const override { return true; }

  void stop() override {
    if (stopping_.exchange(true)) return;
    if (thread_.joinable()) thread_.join();
    if (log_fd_ >= 0) {
      if (!append(kGone, id_, {}).ok()) sd_err("failed to announce our leave");
      unlinkat(nodes_fd_, id_.c_str(), 0);
    }
    for (int* fd : {&node_fd_, &log_fd_, &inotify_fd_, &nodes_fd_, &dir_fd_})
      if (*fd >= 0) {
        close(*fd);
        *fd = -1;
      }
  }

 private:
  bool open_dirs(std::string* why) { return open_local_dirs(dir_, &dir_fd_, &nodes_fd_, why); }

  // A GONE frame's body (kind and id), sealed with the key when there is one.
  std::vector<char> gone_body(const std::string& id) const {
    RecordWriter body;
    body.u8(kGone).str(id);
    if (!key_.empty()) {
      AuthMac mac = key_.message_mac(kGonePurpose, body.buf().data(), body.buf().size());
      body.raw(mac.data(), mac.size());
    }
    return body.buf();
  }

  // Whether a GONE frame (hdr bytes of kind and id, then its MAC) may be
  // believed: always without a key.
  bool gone_authentic(const char* frame, size_t len, size_t hdr) const {
    if (key_.empty()) return true;
    if (len != hdr + kAuthMacLen) return false;
    AuthMac mac;
    std::memcpy(mac.data(), frame + hdr, kAuthMacLen);
    return same_mac(mac, key_.message_mac(kGonePurpose, frame, hdr));
  }

  // Frame: u32 length of the rest, u8 kind, str id, payload.
  Status append(FrameKind kind, const std::string& id, const std::vector<char>& payload) {
    RecordWriter body;
    if (kind == kGone) {
      std::vector<char> g = gone_body(id);
      body.raw(g.data(), g.size());
    } else {
      body.u8(kind).str(id).raw(payload.data(), payload.size());
    }
    RecordWriter frame;
    frame.u32(uint32_t(body.buf().size())).raw(body.buf().data(), body.buf().size());
    std::lock_guard<std::mutex> lk(append_mu_);
    flock(log_fd_, LOCK_EX);
    const char* p = frame.buf().data();
    size_t left = frame.buf().size();
    Status st;
    while (left) {
      ssize_t n = write(log_fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        st = err(Res::ClusterError);
        break;
      }
      p += n;
      left -= size_t(n);
    }
    flock(log_fd_, LOCK_UN);
    return st;
  }

  // False only when the participant is known dead: its node file is gone,
  // or we could lock it (its process no longer holds the lock). Anything
  // else (out of descriptors under load, an interrupted call) proves
  // nothing, and a busy sheep must never be taken for a dead one.
  bool alive(const std::string& id) {
    int fd = openat(nodes_fd_, id.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return errno != ENOENT;
    bool dead = flock(fd, LOCK_EX | LOCK_NB) == 0;
    close(fd);
    return !dead;
  }

  std::vector<std::string> node_files() {
    std::vector<std::string> out;
    int fd = openat(nodes_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* d = fd >= 0 ? fdopendir(fd) : nullptr;
    if (!d) {
      if (fd >= 0) close(fd);
      return out;
    }
    while (dirent* de = readdir(d))
      if (de->d_name[0] != '.') out.push_back(de->d_name);
    closedir(d);
    return out;
  }

  bool any_other_alive() {
    for (const auto& id : node_files())
      if (id != id_ && alive(id)) return true;
    return false;
  }

  // Appends GONE for every participant of the log that is no longer alive.
  void check_liveness() {
    for (const auto& id : std::set<std::string>(participants_)) {
      if (id == id_ || gone_sent_.count(id) || alive(id)) continue;
      std::lock_guard<std::mutex> lk(append_mu_);  // flock does not exclude our own threads
      flock(log_fd_, LOCK_EX);
      // Another reader may have announced it already: the log tells.
      bool announced = false;
      catch_up_locked(&announced, id);
      if (!announced) {
        std::vector<char> body = gone_body(id);
        RecordWriter frame;
        frame.u32(uint32_t(body.size())).raw(body.data(), body.size());
        ssize_t n = write(log_fd_, frame.buf().data(), frame.buf().size());
        if (n != ssize_t(frame.buf().size())) sd_err("failed to append a leave");
        unlinkat(nodes_fd_, id.c_str(), 0);
      }
      flock(log_fd_, LOCK_UN);
      gone_sent_.insert(id);
    }
  }

  // Reads (without delivering) whether a GONE for `id` follows our offset.
  void catch_up_locked(bool* announced, const std::string& id) {
    off_t off = offset_;
    std::vector<char> buf;
    if (!read_from(off, &buf)) return;
    size_t pos = 0;
    while (pos + 4 <= buf.size()) {
      uint32_t len;
      std::memcpy(&len, buf.data() + pos, 4);
      if (pos + 4 + len > buf.size()) break;
      const char* frame = buf.data() + pos + 4;
      RecordReader f(frame, len);
      uint8_t kind = f.u8();
      std::string who = f.str();
      if (f.ok() && kind == kGone && who == id && gone_authentic(frame, len, 1 + 4 + who.size()))
        *announced = true;
      pos += 4 + len;
    }
  }

  bool read_from(off_t off, std::vector<char>* out) {
    char tmp[65536];
    for (;;) {
      ssize_t n = pread(log_fd_, tmp, sizeof(tmp), off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return false;
      if (n == 0) return true;
      out->insert(out->end(), tmp, tmp + n);
      off += n;
    }
  }

  // Delivers every complete frame after offset_.
  void deliver_new() {
    std::vector<char> buf;
    if (!read_from(offset_, &buf)) {
      events_->on_transport_failure("cannot read the cluster log");
      return;
    }
    size_t pos = 0;
    while (pos + 4 <= buf.size() && !stopping_) {
      uint32_t len;
      std::memcpy(&len, buf.data() + pos, 4);
      if (pos + 4 + len > buf.size()) break;  // still being written
      const char* frame = buf.data() + pos + 4;
      RecordReader f(frame, len);
      uint8_t kind = f.u8();
      std::string who = f.str();
      size_t hdr = 1 + 4 + who.size();
      pos += 4 + len;
      offset_ += off_t(4 + len);
      if (!f.ok() || !valid_id(who)) {
        complain("a malformed frame in the cluster log");
        continue;
      }
      if (kind == kRecord) {
        participants_.insert(who);
        events_->on_record(who, std::vector<char>(frame + hdr, frame + len));
      } else if (kind == kGone) {
        if (!gone_authentic(frame, len, hdr)) {
          complain(("a leave of " + who + " without a valid MAC").c_str());
          continue;
        }
        participants_.erase(who);
        events_->on_gone(who);
      }
    }
  }

  void reader_loop() {
    log::set_thread_name("cluster");
    auto next_check = std::chrono::steady_clock::now();
    while (!stopping_) {
      deliver_new();
      auto now = std::chrono::steady_clock::now();
      if (now >= next_check) {
        check_liveness();
        events_->on_tick();
        next_check = now + std::chrono::milliseconds(100);
      }
      pollfd p{inotify_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) > 0) {
        char ev[4096];
        while (read(inotify_fd_, ev, sizeof(ev)) > 0) {
        }
      }
    }
  }

  void complain(const char* what) {
    uint64_t skipped = 0;
    if (complaints_.allow(&skipped))
      sd_err("%s: dropped (%" PRIu64 " more not logged)", what, skipped);
  }

  std::string dir_;
  const ClusterKey key_;
  std::string id_;
  TransportEvents* events_ = nullptr;
  int dir_fd_ = -1;
  int nodes_fd_ = -1;
  int node_fd_ = -1;
  int log_fd_ = -1;
  int inotify_fd_ = -1;
  std::mutex append_mu_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  // Reader-thread state.
  off_t offset_ = 0;
  std::set<std::string> participants_;
  std::set<std::string> gone_sent_;
  RateLimit complaints_{1};
};

}  // namespace

bool prepare_local_dir(const std::string& dir, std::string* why) {
  int dir_fd = -1, nodes_fd = -1;
  bool ok = open_local_dirs(dir, &dir_fd, &nodes_fd, why);
  for (int fd : {dir_fd, nodes_fd})
    if (fd >= 0) close(fd);
  return ok;
}

std::string default_local_dir() {
  if (geteuid() == 0) return "/run/sheepdog/local";
  const char* run = getenv("XDG_RUNTIME_DIR");
  return run && *run ? std::string(run) + "/sheepdog/local" : std::string();
}

std::unique_ptr<ClusterDriver> make_local_driver(const std::string& opts, const ClusterKey& key) {
  std::string dir = opts.empty() ? default_local_dir() : opts;
  if (dir.empty()) return nullptr;
  return std::make_unique<MembershipProtocol>(std::make_unique<LocalTransport>(dir, key), "local",
                                              key);
}

}  // namespace sd
