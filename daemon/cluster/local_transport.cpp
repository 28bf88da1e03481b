// LocalTransport: the ordered transport of the local driver, for several
// sheep on one machine.
//
// Everything lives in one directory (default /tmp/sheepdog-local, or the
// PATH of `-c local:PATH`):
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
#include <cerrno>
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

namespace sd {

namespace {

enum FrameKind : uint8_t { kRecord = 1, kGone = 2 };

class LocalTransport : public OrderedTransport {
 public:
  explicit LocalTransport(std::string dir) : dir_(std::move(dir)) {}
  ~LocalTransport() override { stop(); }

  Result<std::string> start(TransportEvents* events) override {
    events_ = events;
    if (!make_dirs(dir_ + "/nodes")) {
      sd_err("cannot create %s/nodes: %s", dir_.c_str(), std::strerror(errno));
      return err(Res::ClusterError);
    }
    std::random_device rd;
    id_ = "p" + std::to_string(getpid()) + "-" + std::to_string(rd() % 1000000);
    // The node file appears already locked (created under another name,
    // locked, then renamed): nobody may ever find it unlocked and take
    // this live process for a dead one.
    std::string tmp = dir_ + "/nodes/.new-" + id_;
    node_fd_ = open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (node_fd_ < 0 || flock(node_fd_, LOCK_EX | LOCK_NB) < 0 ||
        rename(tmp.c_str(), node_path(id_).c_str()) < 0) {
      sd_err("cannot lock %s: %s", node_path(id_).c_str(), std::strerror(errno));
      unlink(tmp.c_str());
      return err(Res::ClusterError);
    }
    log_fd_ = open((dir_ + "/log").c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd_ < 0) {
      sd_err("cannot open %s/log: %s", dir_.c_str(), std::strerror(errno));
      return err(Res::ClusterError);
    }
    // Start from a clean log when nobody else is alive.
    flock(log_fd_, LOCK_EX);
    if (!any_other_alive()) {
      if (ftruncate(log_fd_, 0) < 0) sd_err("cannot truncate the cluster log");
      for (const auto& id : node_files())
        if (id != id_) unlink(node_path(id).c_str());
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
      unlink(node_path(id_).c_str());
    }
    for (int* fd : {&node_fd_, &log_fd_, &inotify_fd_})
      if (*fd >= 0) {
        close(*fd);
        *fd = -1;
      }
  }

 private:
  std::string node_path(const std::string& id) const { return dir_ + "/nodes/" + id; }

  // Frame: u32 length of the rest, u8 kind, str id, payload.
  Status append(FrameKind kind, const std::string& id, const std::vector<char>& payload) {
    RecordWriter body;
    body.u8(kind).str(id).raw(payload.data(), payload.size());
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
    int fd = open(node_path(id).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno != ENOENT;
    bool dead = flock(fd, LOCK_EX | LOCK_NB) == 0;
    close(fd);
    return !dead;
  }

  std::vector<std::string> node_files() {
    std::vector<std::string> out;
    DIR* d = opendir((dir_ + "/nodes").c_str());
    if (!d) return out;
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
        RecordWriter body;
        body.u8(kGone).str(id);
        RecordWriter frame;
        frame.u32(uint32_t(body.buf().size())).raw(body.buf().data(), body.buf().size());
        ssize_t n = write(log_fd_, frame.buf().data(), frame.buf().size());
        if (n != ssize_t(frame.buf().size())) sd_err("failed to append a leave");
        unlink(node_path(id).c_str());
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
      RecordReader f(buf.data() + pos + 4, len);
      uint8_t kind = f.u8();
      std::string who = f.str();
      if (kind == kGone && who == id) *announced = true;
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
      RecordReader f(buf.data() + pos + 4, len);
      uint8_t kind = f.u8();
      std::string who = f.str();
      size_t hdr = 1 + 4 + who.size();
      pos += 4 + len;
      offset_ += off_t(4 + len);
      if (!f.ok()) continue;
      if (kind == kRecord) {
        participants_.insert(who);
        events_->on_record(std::vector<char>(buf.data() + pos - len + hdr, buf.data() + pos));
      } else if (kind == kGone) {
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

  std::string dir_;
  std::string id_;
  TransportEvents* events_ = nullptr;
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
};

}  // namespace

std::unique_ptr<ClusterDriver> make_local_driver(const std::string& opts) {
  std::string dir = opts.empty() ? "/tmp/sheepdog-local" : opts;
  return std::make_unique<MembershipProtocol>(std::make_unique<LocalTransport>(dir), "local");
}

}  // namespace sd
