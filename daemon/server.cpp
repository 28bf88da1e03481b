// The epoll loop, connection state machines and request framing.
#include "server.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "log.h"
#include "net.h"
#include "ops.h"
#include "sheep.h"

namespace sd {

namespace {

constexpr uint64_t kTcpId = 1, kUnixId = 2, kEventId = 3, kSignalId = 4;
// Largest payload accepted: a whole inode object plus slack.
constexpr uint32_t kMaxPayload = 32u << 20;
// Requests a connection may have in flight before the loop stops reading it.
constexpr int kMaxInflight = 512;

}  // namespace

struct Server::Conn {
  int fd = -1;
  uint64_t id = 0;
  // Reading: the header, then the payload of the current request.
  SdReq hdr{};
  size_t hdr_got = 0;
  std::unique_ptr<Request> cur;
  size_t payload_got = 0;
  // Writing: replies in completion order; out_off bytes of the front sent.
  std::deque<std::unique_ptr<Request>> outq;
  size_t out_off = 0;
  int inflight = 0;
  bool closing = false;  // close once outq is flushed
  uint32_t events = 0;
};

Server::Server(Sheep& sheep) : sheep_(sheep), gway_wq_("gway", 16), io_wq_("io", 8) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kEventId;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, event_fd_, &ev);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  signal_fd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  ev.data.u64 = kSignalId;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, signal_fd_, &ev);
}

Server::~Server() {
  gway_wq_.stop();
  io_wq_.stop();
  for (auto& [id, c] : conns_) close(c->fd);
  for (int fd : {tcp_fd_, unix_fd_, event_fd_, signal_fd_, epfd_})
    if (fd >= 0) close(fd);
}

bool Server::listen(const std::string& bind_addr, uint16_t port, const std::string& unix_path) {
  tcp_fd_ = listen_tcp(bind_addr, port);
  if (tcp_fd_ < 0) {
    sd_err("failed to listen on port %u: %s", unsigned(port), std::strerror(errno));
    return false;
  }
  unix_fd_ = listen_unix(unix_path);
  if (unix_fd_ < 0) {
    sd_err("failed to listen on %s: %s", unix_path.c_str(), std::strerror(errno));
    return false;
  }
  for (auto [fd, id] : {std::pair{tcp_fd_, kTcpId}, std::pair{unix_fd_, kUnixId}}) {
    set_nonblocking(fd, true);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = id;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  }
  return true;
}

void Server::request_stop() {
  uint64_t one = 1;
  stopping_ = true;  // read by the loop after the eventfd wakes it
  ssize_t rc = write(event_fd_, &one, sizeof(one));
  (void)rc;
}

void Server::run() {
  epoll_event events[128];
  auto deadline = std::chrono::steady_clock::time_point::max();
  for (;;) {
    if (stopping_ && deadline == std::chrono::steady_clock::time_point::max()) {
      // Stop accepting; give pending replies a moment to go out.
      deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      for (int fd : {tcp_fd_, unix_fd_}) epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    }
    if (stopping_) {
      bool pending = false;
      for (auto& [id, c] : conns_) pending |= !c->outq.empty() || c->inflight > 0;
      if (!pending || std::chrono::steady_clock::now() > deadline) return;
    }
    int n = epoll_wait(epfd_, events, 128, stopping_ ? 50 : -1);
    if (n < 0 && errno != EINTR) {
      sd_err("epoll_wait: %s", std::strerror(errno));
      return;
    }
    for (int i = 0; i < n; i++) {
      uint64_t id = events[i].data.u64;
      if (id == kTcpId) {
        accept_on(tcp_fd_);
      } else if (id == kUnixId) {
        accept_on(unix_fd_);
      } else if (id == kEventId) {
        uint64_t v;
        ssize_t rc = read(event_fd_, &v, sizeof(v));
        (void)rc;
        drain_completions();
      } else if (id == kSignalId) {
        signalfd_siginfo si;
        while (read(signal_fd_, &si, sizeof(si)) == sizeof(si)) {
          sd_info("signal %u received, stopping", si.ssi_signo);
          stopping_ = true;
        }
      } else {
        auto it = conns_.find(id);
        if (it == conns_.end()) continue;
        Conn& c = *it->second;
        if (events[i].events & (EPOLLERR | EPOLLHUP)) {
          close_conn(id);
          continue;
        }
        if (events[i].events & EPOLLOUT) on_writable(c);
        if (conns_.count(id) && (events[i].events & EPOLLIN)) on_readable(c);
      }
    }
  }
}

void Server::accept_on(int lfd) {
  for (;;) {
    int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        sd_err("accept: %s", std::strerror(errno));
      return;
    }
    if (lfd == tcp_fd_) set_nodelay(fd);
    auto c = std::make_unique<Conn>();
    c->fd = fd;
    c->id = next_conn_id_++;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = c->id;
    c->events = EPOLLIN;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
    conns_[c->id] = std::move(c);
  }
}

void Server::close_conn(uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, it->second->fd, nullptr);
  close(it->second->fd);
  conns_.erase(it);  // replies still being worked on are dropped on completion
}

void Server::update_events(Conn& c) {
  uint32_t want = 0;
  if (!c.closing && c.inflight < kMaxInflight) want |= EPOLLIN;
  if (!c.outq.empty()) want |= EPOLLOUT;
  if (want == c.events) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = c.id;
  epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
  c.events = want;
}

void Server::on_readable(Conn& c) {
  uint64_t id = c.id;
  // Bounded work per wake-up keeps one busy client from starving others.
  for (int rounds = 0; rounds < 64 && !c.closing && c.inflight < kMaxInflight; rounds++) {
    ssize_t n;
    if (!c.cur) {
      n = read(c.fd, reinterpret_cast<char*>(&c.hdr) + c.hdr_got, sizeof(c.hdr) - c.hdr_got);
    } else {
      n = read(c.fd, c.cur->payload.get() + c.payload_got, c.cur->hdr.data_length - c.payload_got);
    }
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      close_conn(id);
      return;
    }
    if (n < 0) break;
    if (!c.cur) {
      c.hdr_got += size_t(n);
      if (c.hdr_got < sizeof(c.hdr)) continue;
      c.hdr_got = 0;
      auto req = std::make_unique<Request>();
      req->hdr = c.hdr;
      req->conn_id = c.id;
      bool has_payload = (c.hdr.flags & kFlagWrite) && c.hdr.data_length;
      if (has_payload && c.hdr.data_length > kMaxPayload) {
        // We cannot skip a payload we refuse to buffer: answer and close.
        sd_err("request %02x with a %u-byte payload refused", c.hdr.opcode, c.hdr.data_length);
        req->rsp = SdRsp{};
        req->rsp.opcode = c.hdr.opcode;
        req->rsp.id = c.hdr.id;
        req->rsp.epoch = sheep_.group.epoch();
        req->rsp.result = uint32_t(Res::InvalidParms);
        c.outq.push_back(std::move(req));
        c.closing = true;
        on_writable(c);
        return;
      }
      if (has_payload) {
        req->payload.reset(new char[c.hdr.data_length]);
        c.cur = std::move(req);
        c.payload_got = 0;
        continue;
      }
      dispatch(c, std::move(req));
    } else {
      c.payload_got += size_t(n);
      if (c.payload_got < c.cur->hdr.data_length) continue;
      dispatch(c, std::move(c.cur));
    }
  }
  if (conns_.count(id)) update_events(c);
}

void Server::dispatch(Conn& c, std::unique_ptr<Request> req) {
  c.inflight++;
  const OpInfo* op = find_op(req->hdr.opcode);
  Request* raw = req.release();
  auto job = [this, raw] {
    std::unique_ptr<Request> r(raw);
    execute(sheep_, *r);
    complete(std::move(r));
  };
  if (!op) {
    job();  // answered at once: INVALID_PARMS or VER_MISMATCH
  } else if (op->kind == OpKind::Peer || op->kind == OpKind::Local) {
    io_wq_.submit(job);
  } else {
    gway_wq_.submit(job);
  }
}

void Server::complete(std::unique_ptr<Request> req) {
  {
    std::lock_guard<std::mutex> lk(done_mu_);
    done_.push_back(std::move(req));
  }
  uint64_t one = 1;
  ssize_t rc = write(event_fd_, &one, sizeof(one));
  (void)rc;
}

void Server::drain_completions() {
  std::vector<std::unique_ptr<Request>> done;
  {
    std::lock_guard<std::mutex> lk(done_mu_);
    done.swap(done_);
  }
  std::vector<uint64_t> ready;
  for (auto& r : done) {
    auto it = conns_.find(r->conn_id);
    if (it == conns_.end()) continue;  // the client went away
    Conn& c = *it->second;
    c.inflight--;
    c.outq.push_back(std::move(r));
    ready.push_back(c.id);
  }
  // on_writable may close a connection, so look each one up again.
  for (uint64_t id : ready) {
    auto it = conns_.find(id);
    if (it != conns_.end()) on_writable(*it->second);
  }
}

void Server::on_writable(Conn& c) {
  uint64_t id = c.id;
  while (!c.outq.empty()) {
    Request& r = *c.outq.front();
    size_t total = sizeof(SdRsp) + r.rsp.data_length;
    iovec iov[2];
    int cnt = 0;
    if (c.out_off < sizeof(SdRsp)) {
      iov[cnt++] = {reinterpret_cast<char*>(&r.rsp) + c.out_off, sizeof(SdRsp) - c.out_off};
      if (r.rsp.data_length) iov[cnt++] = {r.reply.get(), r.rsp.data_length};
    } else {
      size_t off = c.out_off - sizeof(SdRsp);
      iov[cnt++] = {r.reply.get() + off, r.rsp.data_length - off};
    }
    ssize_t n = writev(c.fd, iov, cnt);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
      close_conn(id);
      return;
    }
    c.out_off += size_t(n);
    if (c.out_off < total) continue;
    c.out_off = 0;
    c.outq.pop_front();
  }
  if (c.closing && c.outq.empty() && c.inflight == 0) {
    close_conn(id);
    return;
  }
  update_events(c);
}

}  // namespace sd
