// Test doubles for the client library: an in-process server on a loopback
// port (FakeServer), the framing helpers a fake sheep needs, and FakeSheep,
// a tiny object store that answers GET_VDI_INFO, READ_OBJ, WRITE_OBJ and
// CREATE_AND_WRITE_OBJ (with COW) from memory and logs every request.
//
// Unit tests only: the real daemon lives in daemon/.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net.h"
#include "oid.h"
#include "proto/inode.h"
#include "proto/wire.h"

namespace sdtest {

// Reads one request header and, with kFlagWrite, its payload.
inline bool recv_req(int fd, sd::SdReq* req, std::vector<char>* payload) {
  if (!sd::read_full(fd, req, sizeof(*req)).ok()) return false;
  payload->clear();
  if ((req->flags & sd::kFlagWrite) && req->data_length) {
    payload->resize(req->data_length);
    if (!sd::read_full(fd, payload->data(), payload->size()).ok()) return false;
  }
  return true;
}

// A reply to req: header with result and data_length = len, then len bytes.
inline bool send_rsp(int fd, const sd::SdReq& req, sd::Res result, const void* data = nullptr,
                     uint32_t len = 0, sd::SdRsp rsp = {}) {
  rsp.opcode = req.opcode;
  rsp.id = req.id;
  rsp.epoch = 1;
  rsp.data_length = len;
  rsp.result = uint32_t(result);
  if (!sd::write_full(fd, &rsp, sizeof(rsp)).ok()) return false;
  return !len || sd::write_full(fd, data, len).ok();
}

// Listens on 127.0.0.1 with a kernel-chosen port; runs handler(fd) in a
// thread per accepted connection. The server closes the fd after the
// handler returns; a handler drops a connection early with shutdown().
class FakeServer {
 public:
  using Handler = std::function<void(int fd)>;

  explicit FakeServer(Handler h) : handler_(std::move(h)) {
    lfd_ = sd::listen_tcp("127.0.0.1", 0);
    sockaddr_storage ss{};
    socklen_t sl = sizeof(ss);
    getsockname(lfd_, reinterpret_cast<sockaddr*>(&ss), &sl);
    port_ = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    accept_ = std::thread([this] { accept_loop(); });
  }

  ~FakeServer() {
    shutdown(lfd_, SHUT_RDWR);  // wakes accept()
    accept_.join();
    close(lfd_);
    {
      std::lock_guard<std::mutex> lk(mu_);
      for (int fd : fds_) shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : conns_) t.join();
    for (int fd : fds_) close(fd);
  }

  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  bool ok() const { return lfd_ >= 0 && port_ != 0; }
  uint16_t port() const { return port_; }
  sd::Endpoint endpoint() const {
    sd::Endpoint ep;
    ep.host = "127.0.0.1";
    ep.port = port_;
    return ep;
  }
  int accepted() const { return accepted_.load(); }

 private:
  void accept_loop() {
    for (;;) {
      int fd = accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;
      }
      accepted_++;
      std::lock_guard<std::mutex> lk(mu_);
      fds_.push_back(fd);
      conns_.emplace_back([this, fd] { handler_(fd); });
    }
  }

  Handler handler_;
  int lfd_ = -1;
  uint16_t port_ = 0;
  std::thread accept_;
  std::mutex mu_;
  std::vector<std::thread> conns_;
  std::vector<int> fds_;
  std::atomic<int> accepted_{0};
};

// One logged request, as the fake sheep saw it.
struct LoggedReq {
  uint8_t opcode;
  uint16_t flags;
  uint64_t oid;
  uint64_t cow_oid;
  uint32_t offset;
  uint32_t len;
  uint32_t value;  // the first 4 payload bytes of a write (inode updates)
};

// An in-memory sheep: objects, a VDI registry, and snapshots.
class FakeSheep {
 public:
  FakeSheep() : server_([this](int fd) { serve(fd); }) {}

  sd::Endpoint endpoint() const { return server_.endpoint(); }

  // Creates a working VDI and its inode; returns its vid.
  uint32_t create_vdi(const std::string& name, uint64_t size,
                      uint8_t shift = sd::kDefaultBlockSizeShift) {
    std::lock_guard<std::mutex> lk(mu_);
    uint32_t vid = next_vid_++;
    std::vector<char> inode(sd::kInodeSize);
    auto* h = reinterpret_cast<sd::InodeHeader*>(inode.data());
    std::strncpy(h->name, name.c_str(), sizeof(h->name) - 1);
    h->vdi_size = size;
    h->nr_copies = 3;
    h->block_size_shift = shift;
    h->snap_id = 1;
    h->vdi_id = vid;
    objects_[sd::vid_to_vdi_oid(vid)] = std::move(inode);
    vdis_.push_back({name, "", 1, vid, false});
    shift_[vid] = shift;
    return vid;
  }

  // Stores data in block idx of vid directly and points the map at it.
  void put_block(uint32_t vid, uint64_t idx, const std::vector<char>& data) {
    std::lock_guard<std::mutex> lk(mu_);
    auto& obj = objects_[sd::vid_to_data_oid(vid, idx)];
    obj = data;
    obj.resize(size_t(1) << shift_[vid]);
    set_map_locked(vid, idx, vid);
  }

  // Turns the working VDI `name` into a snapshot tagged `tag` and creates
  // its new working VDI (as NEW_VDI with snapid does); returns the new vid.
  uint32_t snapshot(const std::string& name, const std::string& tag) {
    std::lock_guard<std::mutex> lk(mu_);
    Entry* w = find_working_locked(name);
    if (!w) return 0;
    uint32_t old_vid = w->vid;
    auto& old_inode = objects_[sd::vid_to_vdi_oid(old_vid)];
    auto* oh = reinterpret_cast<sd::InodeHeader*>(old_inode.data());
    oh->snap_ctime = 1;
    std::strncpy(oh->tag, tag.c_str(), sizeof(oh->tag) - 1);
    w->tag = tag;
    w->snapshot = true;
    uint32_t vid = next_vid_++;
    std::vector<char> inode(old_inode.begin(), old_inode.begin() + sd::kInodeGrefOffset);
    inode.resize(sd::kInodeSize);
    auto* h = reinterpret_cast<sd::InodeHeader*>(inode.data());
    h->snap_ctime = 0;
    std::memset(h->tag, 0, sizeof(h->tag));
    h->snap_id = oh->snap_id + 1;
    h->parent_vdi_id = old_vid;
    h->vdi_id = vid;
    objects_[sd::vid_to_vdi_oid(vid)] = std::move(inode);
    uint32_t snap_id = h->snap_id;
    vdis_.push_back({name, "", snap_id, vid, false});
    readonly_vids_.push_back(old_vid);
    shift_[vid] = shift_[old_vid];
    return vid;
  }

  uint32_t map_entry(uint32_t vid, uint64_t idx) {
    std::lock_guard<std::mutex> lk(mu_);
    uint32_t v;
    std::memcpy(&v, objects_[sd::vid_to_vdi_oid(vid)].data() + sd::inode_map_offset(idx), 4);
    return v;
  }

  bool has_object(uint64_t oid) {
    std::lock_guard<std::mutex> lk(mu_);
    return objects_.count(oid) != 0;
  }

  std::vector<char> object(uint64_t oid) {
    std::lock_guard<std::mutex> lk(mu_);
    return objects_.count(oid) ? objects_[oid] : std::vector<char>();
  }

  std::vector<LoggedReq> log() {
    std::lock_guard<std::mutex> lk(mu_);
    return log_;
  }
  void clear_log() {
    std::lock_guard<std::mutex> lk(mu_);
    log_.clear();
  }

 private:
  struct Entry {
    std::string name;
    std::string tag;
    uint32_t snap_id;
    uint32_t vid;
    bool snapshot;
  };

  Entry* find_working_locked(const std::string& name) {
    for (auto& e : vdis_)
      if (e.name == name && !e.snapshot) return &e;
    return nullptr;
  }

  void set_map_locked(uint32_t vid, uint64_t idx, uint32_t owner) {
    std::memcpy(objects_[sd::vid_to_vdi_oid(vid)].data() + sd::inode_map_offset(idx), &owner, 4);
  }

  bool is_readonly_locked(uint64_t oid) {
    if (!sd::is_data_obj(oid)) return false;
    for (uint32_t v : readonly_vids_)
      if (v == sd::oid_to_vid(oid)) return true;
    return false;
  }

  uint64_t size_of_locked(uint64_t oid) {
    uint32_t vid = sd::oid_to_vid(oid);
    return sd::object_size(oid, shift_.count(vid) ? shift_[vid] : 0);
  }

  void serve(int fd) {
    sd::SdReq req;
    std::vector<char> payload;
    while (recv_req(fd, &req, &payload)) {
      std::vector<char> out;
      sd::SdRsp rsp{};
      sd::Res r = handle(req, payload, &out, &rsp);
      if (!send_rsp(fd, req, r, out.data(), uint32_t(out.size()), rsp)) return;
    }
  }

  sd::Res handle(const sd::SdReq& req, const std::vector<char>& payload, std::vector<char>* out,
                 sd::SdRsp* rsp) {
    std::lock_guard<std::mutex> lk(mu_);
    LoggedReq l{req.opcode, req.flags, req.obj.oid, req.obj.cow_oid, req.obj.offset,
                req.data_length, 0};
    if (payload.size() >= 4) std::memcpy(&l.value, payload.data(), 4);
    log_.push_back(l);
    switch (req.opcode) {
      case sd::kOpGetVdiInfo: {
        if (payload.size() != 256 && payload.size() != 512) return sd::Res::InvalidParms;
        std::string name(payload.data(), strnlen(payload.data(), 256));
        std::string tag;
        if (payload.size() == 512)
          tag.assign(payload.data() + 256, strnlen(payload.data() + 256, 256));
        uint32_t snapid = req.vdi.snapid;
        bool seen_working = false;
        for (auto& e : vdis_) {
          if (e.name != name) continue;
          bool match = tag.empty() && !snapid ? !e.snapshot
                                               : e.snapshot && ((!tag.empty() && e.tag == tag) ||
                                                                (snapid && e.snap_id == snapid));
          seen_working |= !e.snapshot;
          if (match) {
            rsp->vdi.vdi_id = e.vid;
            rsp->vdi.copies = 3;
            rsp->vdi.block_size_shift = uint8_t(shift_[e.vid]);
            return sd::Res::Success;
          }
        }
        return seen_working && (!tag.empty() || snapid) ? sd::Res::NoTag : sd::Res::NoVdi;
      }
      case sd::kOpReadObj: {
        auto it = objects_.find(req.obj.oid);
        if (it == objects_.end()) return sd::Res::NoObj;
        uint64_t off = req.obj.offset, len = req.data_length;
        if (off + len > it->second.size()) return sd::Res::InvalidParms;
        out->assign(it->second.begin() + long(off), it->second.begin() + long(off + len));
        return sd::Res::Success;
      }
      case sd::kOpWriteObj: {
        auto it = objects_.find(req.obj.oid);
        if (it == objects_.end()) return sd::Res::NoObj;
        if (is_readonly_locked(req.obj.oid)) return sd::Res::Readonly;
        if (uint64_t(req.obj.offset) + payload.size() > it->second.size())
          return sd::Res::InvalidParms;
        std::memcpy(it->second.data() + req.obj.offset, payload.data(), payload.size());
        return sd::Res::Success;
      }
      case sd::kOpCreateAndWriteObj: {
        if (is_readonly_locked(req.obj.oid)) return sd::Res::Readonly;
        std::vector<char> obj;
        if (req.flags & sd::kFlagCow) {
          auto src = objects_.find(req.obj.cow_oid);
          if (src == objects_.end()) return sd::Res::NoObj;
          obj = src->second;
        }
        obj.resize(size_of_locked(req.obj.oid));
        if (uint64_t(req.obj.offset) + payload.size() > obj.size()) return sd::Res::InvalidParms;
        std::memcpy(obj.data() + req.obj.offset, payload.data(), payload.size());
        objects_[req.obj.oid] = std::move(obj);
        return sd::Res::Success;
      }
      default:
        return sd::Res::InvalidParms;
    }
  }

  std::mutex mu_;
  std::map<uint64_t, std::vector<char>> objects_;
  std::vector<Entry> vdis_;
  std::vector<uint32_t> readonly_vids_;
  std::map<uint32_t, uint32_t> shift_;
  std::vector<LoggedReq> log_;
  uint32_t next_vid_ = 0x7c2b25;
  FakeServer server_;  // last: its threads use the members above
};

}  // namespace sdtest
