// Pipelined request/reply matching over one sheep connection.
#include "client/sheep_client.h"

#include "client/auth_handshake.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

namespace sd {

namespace {
constexpr size_t kRecvBuffer = 256 << 10;
// Payloads at least this long are read straight into their caller's
// buffer, not through the receive buffer.
constexpr size_t kDirectRead = 64 << 10;
}

SheepClient::SheepClient(const Endpoint& ep, int fd)
    : ep_(ep), fd_(fd), rbuf_(new char[kRecvBuffer]) {}

std::unique_ptr<SheepClient> SheepClient::connect(const Endpoint& ep) {
  int fd = connect_and_authenticate(ep);
  if (fd < 0) return nullptr;
  return std::unique_ptr<SheepClient>(new SheepClient(ep, fd));
}

SheepClient::~SheepClient() {
  if (fd_ >= 0) close(fd_);
}

void SheepClient::fail_all_locked() {
  if (!dead_) shutdown(fd_, SHUT_RDWR);  // wakes a reader blocked on the socket
  dead_ = true;
  for (auto& [id, p] : pending_) {
    p->failed = true;
    p->done = true;
    p->cv.notify_one();
  }
  cv_.notify_all();
}

void SheepClient::wake_next_leader_locked() {
  if (reader_active_) return;
  for (auto& [id, p] : pending_)
    if (p->waiting && !p->done) {
      p->cv.notify_one();
      return;
    }
}

Status SheepClient::read_direct(char* out, size_t len) {
  while (len) {
    SD_TRY(wait_readable());
    ssize_t got = read(fd_, out, len);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return err(Res::NetworkError);
    out += got;
    len -= size_t(got);
  }
  return {};
}

Status SheepClient::take(void* dst, size_t len) {
  char* out = static_cast<char*>(dst);
  size_t have = rend_ - rpos_;
  size_t n = have < len ? have : len;
  if (n && out) std::memcpy(out, rbuf_.get() + rpos_, n);
  rpos_ += n;
  len -= n;
  if (out) out += n;
  if (!len) return {};
  rpos_ = rend_ = 0;
  // Large remainders go straight to their destination; small ones refill
  // the buffer, which then usually holds the next replies as well.
  if (len >= kDirectRead && out) return read_direct(out, len);
  while (len) {
    SD_TRY(wait_readable());
    ssize_t got = read(fd_, rbuf_.get(), kRecvBuffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return err(Res::NetworkError);
    size_t k = size_t(got) < len ? size_t(got) : len;
    if (out) {
      std::memcpy(out, rbuf_.get(), k);
      out += k;
    }
    len -= k;
    rpos_ = k;
    rend_ = size_t(got);
  }
  return {};
}

Status SheepClient::wait_readable() {
  if (timeout_.count() == 0) return {};
  for (;;) {
    Clock::time_point oldest = Clock::time_point::max();
    {
      std::lock_guard<std::mutex> lk(mu_);
      for (auto& [id, p] : pending_)
        if (!p->done && p->sent < oldest) oldest = p->sent;
    }
    auto now = Clock::now();
    if (oldest != Clock::time_point::max() && now - oldest >= timeout_) return err(Res::NetworkError);
    auto left = oldest == Clock::time_point::max()
                    ? timeout_
                    : std::chrono::duration_cast<std::chrono::milliseconds>(oldest + timeout_ - now);
    int ms = int(std::min<int64_t>(left.count() + 1, 1000));
    pollfd pfd{fd_, POLLIN, 0};
    int rc = poll(&pfd, 1, ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return err(Res::NetworkError);
    if (rc > 0) return {};
  }
}

Status SheepClient::read_one_reply() {
  SdRsp rsp;
  bool large = false;
  if (rpos_ == rend_) {
    std::lock_guard<std::mutex> lk(mu_);
    large = large_pending_ > 0;
  }
  // A large payload may follow: read the header alone, so that the payload
  // goes straight to its caller instead of partly through the receive
  // buffer and a copy.
  if (large)
    SD_TRY(read_direct(reinterpret_cast<char*>(&rsp), sizeof(rsp)));
  else
    SD_TRY(take(&rsp, sizeof(rsp)));
  Pending* p = nullptr;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = pending_.find(rsp.id);
    if (it != pending_.end()) p = it->second;
    current_target_ = p;
  }
  if (!p) return err(Res::NetworkError);  // a reply nobody asked for
  uint32_t want = rsp.data_length < p->rlen ? rsp.data_length : p->rlen;
  if (want) SD_TRY(take(p->rbuf, want));
  if (uint32_t extra = rsp.data_length - want) SD_TRY(take(nullptr, extra));
  rsp.data_length = want;
  std::lock_guard<std::mutex> lk(mu_);
  p->rsp = rsp;
  p->done = true;
  current_target_ = nullptr;
  last_epoch_ = rsp.epoch;
  p->cv.notify_one();
  return {};
}

std::unique_ptr<SheepClient::Ticket> SheepClient::submit(SdReq req, const void* wbuf, void* rbuf,
                                                         uint32_t rlen) {
  bool is_write = req.flags & kFlagWrite;
  if (rlen == UINT32_MAX) rlen = is_write ? 0 : req.data_length;
  auto t = std::make_unique<Ticket>();
  t->p.rbuf = rbuf;
  t->p.rlen = rbuf ? rlen : 0;
  {
    std::unique_lock<std::mutex> lk(mu_);
    wait_gate_locked(lk);
    if (closed_) {
      t->p.done = t->p.failed = true;
      return t;
    }
    if (dead_ && (!auto_reconnect_ || !reconnect_locked(lk).ok())) {
      t->p.done = t->p.failed = true;
      return t;
    }
    req.id = next_id_++;
    t->id = req.id;
    t->p.sent = Clock::now();
    pending_[req.id] = &t->p;
    if (t->p.rlen >= kDirectRead) large_pending_++;
  }
  std::lock_guard<std::mutex> lk(send_mu_);
  iovec iov[2] = {{&req, sizeof(req)}, {const_cast<void*>(wbuf), is_write ? req.data_length : 0}};
  Status st = writev_full(fd_, iov, is_write && req.data_length ? 2 : 1);
  if (!st.ok()) {
    std::lock_guard<std::mutex> lk2(mu_);
    fail_all_locked();
  }
  return t;
}

Result<SdRsp> SheepClient::wait(std::unique_ptr<Ticket> t) {
  Pending& p = t->p;
  std::unique_lock<std::mutex> lk(mu_);
  p.waiting = true;
  // Never leave while the reader may still be filling our buffer.
  while (!p.done || current_target_ == &p) {
    if (!reader_active_ && !p.done) {
      reader_active_ = true;
      // Lead until our own reply is in.
      while (!p.done) {
        lk.unlock();
        Status st = read_one_reply();
        lk.lock();
        current_target_ = nullptr;
        if (!st.ok()) fail_all_locked();
      }
      reader_active_ = false;
    } else {
      p.cv.wait(lk);
    }
  }
  p.waiting = false;
  if (t->id && pending_.erase(t->id) && p.rlen >= kDirectRead) large_pending_--;
  wake_next_leader_locked();
  if (dead_) cv_.notify_all();
  if (p.failed) return err(Res::NetworkError);
  return p.rsp;
}

Status SheepClient::reconnect_locked(std::unique_lock<std::mutex>& lk) {
  // Once the failed calls have drained.
  cv_.wait(lk, [&] { return pending_.empty(); });
  if (closed_) return err(Res::NetworkError);
  if (!dead_) return {};
  int fd = connect_and_authenticate(ep_);
  if (fd < 0) return err(Res::NetworkError);
  close(fd_);
  fd_ = fd;
  dead_ = false;
  generation_++;
  rpos_ = rend_ = 0;
  return {};
}

void SheepClient::wait_gate_locked(std::unique_lock<std::mutex>& lk) {
  cv_.wait(lk, [&] { return !gated_ || gate_owner_ == std::this_thread::get_id(); });
}

Status SheepClient::reconnect(const std::function<Status()>& prologue) {
  std::unique_lock<std::mutex> lk(mu_);
  wait_gate_locked(lk);
  if (closed_) return err(Res::NetworkError);
  if (!dead_) return {};
  SD_TRY(reconnect_locked(lk));
  if (!prologue) return {};
  gated_ = true;
  gate_owner_ = std::this_thread::get_id();
  lk.unlock();
  Status st = prologue();
  lk.lock();
  gated_ = false;
  if (!st.ok()) fail_all_locked();
  cv_.notify_all();
  return st;
}

void SheepClient::abort(bool for_good) {
  std::lock_guard<std::mutex> lk(mu_);
  if (for_good) closed_ = true;
  fail_all_locked();
}

Result<SdRsp> SheepClient::call(SdReq req, const void* wbuf, void* rbuf, uint32_t rlen) {
  return wait(submit(req, wbuf, rbuf, rlen));
}

Status SheepClient::exec(SdReq req, const void* wbuf, void* rbuf, SdRsp* rsp, uint32_t rlen) {
  auto r = call(req, wbuf, rbuf, rlen);
  if (!r.ok()) return err(r.code());
  if (rsp) *rsp = *r;
  return Res(r->result);
}

Status SheepClient::read_obj(uint64_t oid, void* buf, uint32_t len, uint32_t offset,
                             uint8_t copies, SdRsp* rsp) {
  SdReq req = make_req(kOpReadObj, 0, len);
  req.obj.oid = oid;
  req.obj.offset = offset;
  req.obj.copies = copies;
  SdRsp got;
  SD_TRY(exec(req, nullptr, buf, &got));
  if (rsp) *rsp = got;
  if (got.data_length != len) return err(Res::Eio);
  return {};
}

Status SheepClient::write_obj(uint64_t oid, const void* buf, uint32_t len, uint32_t offset,
                              uint8_t copies) {
  SdReq req = make_req(kOpWriteObj, kFlagWrite, len);
  req.obj.oid = oid;
  req.obj.offset = offset;
  req.obj.copies = copies;
  return exec(req, buf, nullptr);
}

Status SheepClient::create_and_write_obj(uint64_t oid, const void* buf, uint32_t len,
                                         uint32_t offset, uint8_t copies, uint64_t cow_oid) {
  SdReq req = make_req(kOpCreateAndWriteObj, kFlagWrite | (cow_oid ? kFlagCow : 0), len);
  req.obj.oid = oid;
  req.obj.cow_oid = cow_oid;
  req.obj.offset = offset;
  req.obj.copies = copies;
  return exec(req, buf, nullptr);
}

Status SheepClient::remove_obj(uint64_t oid, uint8_t copies) {
  SdReq req = make_req(kOpRemoveObj);
  req.obj.oid = oid;
  req.obj.copies = copies;
  return exec(req, nullptr, nullptr);
}

}  // namespace sd
