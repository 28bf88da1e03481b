// The epoll loop, connection state machines and request framing.
#include "server/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <chrono>
#include <cstring>

#include "base/log.h"
#include "net.h"
#include "server/connection.h"

namespace sd {

namespace {

constexpr uint64_t kTcpId = 1, kUnixId = 2, kEventId = 3, kSignalId = 4, kIoId = 5;

}  // namespace

using namespace server_limits;

Server::Server(RequestRunner& runner, ClusterKey key, unsigned tcp_timeout)
    : runner_(runner),
      key_(std::move(key)),
      tcp_timeout_(tcp_timeout),
      gway_wq_("gway", 32),
      io_wq_("io", 32) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
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

void Server::stop_workers() {
  gway_wq_.stop();
  io_wq_.stop();
}

Server::~Server() {
  stop_workers();
  for (auto& [id, c] : conns_) close(c->fd);
  for (int fd : {tcp_fd_, unix_fd_, io_fd_, event_fd_, signal_fd_, epfd_, spare_fd_})
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

bool Server::listen_io(const std::string& addr, uint16_t port) {
  io_fd_ = listen_tcp(addr, port);
  if (io_fd_ < 0) {
    sd_err("failed to listen on %s:%u for I/O: %s", addr.c_str(), unsigned(port),
           std::strerror(errno));
    return false;
  }
  set_nonblocking(io_fd_, true);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kIoId;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, io_fd_, &ev);
  sd_info("I/O between sheep on %s:%u", addr.c_str(), unsigned(port));
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
      for (int fd : {tcp_fd_, unix_fd_, io_fd_})
        if (fd >= 0) epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    }
    if (stopping_) {
      bool pending = false;
      for (auto& [id, c] : conns_) {
        std::lock_guard<std::mutex> lk(c->out_mu);
        pending |= !c->outq.empty() || c->inflight > 0;
      }
      if (!pending || std::chrono::steady_clock::now() > deadline) return;
    }
    // Connections with requests already buffered must not wait for the
    // socket to become readable again: poll without blocking, then serve them.
    int handshake_ms = expire_handshakes();
    int wait_ms = !ready_.empty() ? 0 : stopping_ ? 50 : handshake_ms;
    if (stopping_ && handshake_ms >= 0 && handshake_ms < wait_ms) wait_ms = handshake_ms;
    int n = epoll_wait(epfd_, events, 128, wait_ms);
    if (n < 0 && errno != EINTR) {
      sd_err("epoll_wait: %s", std::strerror(errno));
      return;
    }
    for (int i = 0; i < n; i++) {
      uint64_t id = events[i].data.u64;
      if (id == kTcpId) {
        accept_on(tcp_fd_);
      } else if (id == kIoId) {
        accept_on(io_fd_);
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
        std::shared_ptr<Conn> keep = find_conn(id);  // alive through this event
        if (!keep) continue;
        Conn& c = *keep;
        if (events[i].events & (EPOLLERR | EPOLLHUP)) {
          close_conn(id);
          continue;
        }
        if (events[i].events & EPOLLOUT) on_writable(c);
        if (conns_.count(id) && (events[i].events & EPOLLIN)) on_readable(c);
      }
    }
    std::vector<uint64_t> ready;
    ready.swap(ready_);
    for (uint64_t id : ready)
      if (std::shared_ptr<Conn> keep = find_conn(id)) on_readable(*keep);
  }
}

std::shared_ptr<Server::Conn> Server::find_conn(uint64_t id) const {
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second;
}

bool Server::has_buffered_request(const Conn& c) const {
  size_t buffered = c.in_end - c.in_pos;
  return c.cur ? buffered > 0 : buffered >= sizeof(SdReq);
}

void Server::note_ready(Conn& c) {
  if (may_read(c) && has_buffered_request(c)) ready_.push_back(c.id);
}

bool Server::may_read(const Conn& c) const {
  // Back-pressure: a client that does not read its replies stops being
  // read. When nothing is held any request is taken, however large.
  return !c.closing && c.inflight < kMaxInflight && c.reply_bytes <= kMaxReplyBytes;
}

bool Server::release_reply_bytes(Conn& c, size_t n) {
  if (n == 0) return false;
  // The one release that crosses the cap sees it: whatever the order of
  // the loop's additions and the workers' releases, the loop is woken.
  size_t before = c.reply_bytes.fetch_sub(n);
  return before > kMaxReplyBytes && before - n <= kMaxReplyBytes;
}

void Server::accept_on(int lfd) {
  for (;;) {
    int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR) return;
      if ((e == EMFILE || e == ENFILE) && spare_fd_ >= 0) {
        // Out of descriptors: the waiting connection would keep the
        // listening socket readable and the loop spinning. Turn it away
        // with the descriptor kept in reserve for this, then keep it again.
        close(spare_fd_);
        int c = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) close(c);
        spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
      }
      auto now = std::chrono::steady_clock::now();
      if (now - last_accept_error_ > std::chrono::seconds(1)) {
        sd_err("accept: %s", std::strerror(e));
        last_accept_error_ = now;
      }
      return;
    }
    if (lfd != unix_fd_) {
      set_nodelay(fd);
      set_dead_peer_timeout(fd, tcp_timeout_);
    }
    auto c = std::make_shared<Conn>();
    c->fd = fd;
    c->id = next_conn_id_++;
    c->accepted_at = std::chrono::steady_clock::now();
    if (lfd != unix_fd_) {
      c->trusted = key_.empty();
      sockaddr_storage sa{};
      socklen_t len = sizeof(sa);
      char host[INET6_ADDRSTRLEN] = "?";
      std::string host_key;  // the address, or for IPv6 its /64: one client
      uint16_t port = 0;
      if (getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0) {
        if (sa.ss_family == AF_INET) {
          auto* in = reinterpret_cast<sockaddr_in*>(&sa);
          inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
          port = ntohs(in->sin_port);
        } else if (sa.ss_family == AF_INET6) {
          auto* in6 = reinterpret_cast<sockaddr_in6*>(&sa);
          if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            inet_ntop(AF_INET, in6->sin6_addr.s6_addr + 12, host, sizeof(host));
          } else {
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
            in6_addr prefix{};
            std::memcpy(prefix.s6_addr, in6->sin6_addr.s6_addr, 8);
            char p[INET6_ADDRSTRLEN];
            inet_ntop(AF_INET6, &prefix, p, sizeof(p));
            host_key = std::string(p) + "/64";
          }
          port = ntohs(in6->sin6_port);
        }
      }
      c->host = host_key.empty() ? std::string(host) : host_key;
      std::string h(host);
      c->host_admin = !key_.empty() || h.rfind("127.", 0) == 0 || h == "::1";
      c->peer = std::string(host) + ":" + std::to_string(port);
    }
    c->in_cap = c->trusted ? kInBuffer : kUntrustedBuffer;
    c->in.reset(new char[c->in_cap]);
    if (!c->trusted) admit_untrusted(*c);
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
  Conn& c = *it->second;
  if (!c.trusted) forget_untrusted(c);
  epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd, nullptr);
  {
    std::lock_guard<std::mutex> lk(c.out_mu);
    c.closed = true;
    c.outq.clear();
    close(c.fd);
    if (c.inflight == 0) report_closed_locked(c);
  }
  conns_.erase(it);  // replies still being worked on are dropped on completion
}

void Server::update_events(Conn& c) {
  bool out_pending;
  {
    std::lock_guard<std::mutex> lk(c.out_mu);
    out_pending = !c.outq.empty();
  }
  uint32_t want = 0;
  // A connection that has not proved the key reads nothing more until its
  // one answer is sent.
  if (may_read(c) && (c.trusted || !out_pending)) want |= EPOLLIN;
  if (out_pending) want |= EPOLLOUT;
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
  for (int rounds = 0; rounds < 256 && may_read(c); rounds++) {
    if (!c.trusted) {
      std::lock_guard<std::mutex> lk(c.out_mu);
      if (!c.outq.empty()) break;  // its answer first (update_events)
    }
    size_t buffered = c.in_end - c.in_pos;
    if (c.cur) {
      // The payload: from the buffer first, then straight from the socket.
      size_t want = c.cur->hdr.data_length - c.payload_got;
      char* dst = c.cur->payload.get() + c.payload_got;
      if (buffered) {
        size_t k = buffered < want ? buffered : want;
        std::memcpy(dst, c.in.get() + c.in_pos, k);
        c.in_pos += k;
        c.payload_got += k;
      } else {
        ssize_t n = read(c.fd, dst, want);
        if (n == 0) {  // its payload will never come: it cannot run
          c.cur.reset();
          c.closing = true;
          break;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          close_conn(id);
          return;
        }
        if (n < 0) break;
        c.payload_got += size_t(n);
      }
      if (c.payload_got == c.cur->hdr.data_length) dispatch(c, std::move(c.cur));
      continue;
    }
    if (buffered < sizeof(SdReq)) {
      // Need more bytes: keep the partial header at the front and refill.
      if (c.in_pos) {
        std::memmove(c.in.get(), c.in.get() + c.in_pos, buffered);
        c.in_pos = 0;
        c.in_end = buffered;
      }
      ssize_t n = read(c.fd, c.in.get() + c.in_end, c.in_cap - c.in_end);
      if (n == 0) {  // end of stream: every whole request was taken already
        c.closing = true;
        break;
      }
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        close_conn(id);
        return;
      }
      if (n < 0) break;
      c.in_end += size_t(n);
      continue;
    }
    auto req = std::make_unique<Request>();
    std::memcpy(&req->hdr, c.in.get() + c.in_pos, sizeof(SdReq));
    c.in_pos += sizeof(SdReq);
    req->conn_id = c.id;
    req->host_admin = c.host_admin;
    if (!c.host_admin) req->peer = c.peer;  // (only needed to name a refusal)
    const SdReq& h = req->hdr;
    bool has_payload = (h.flags & kFlagWrite) && h.data_length;
    // Before the key is proved only the handshake's 64 bytes are taken.
    if (has_payload && !c.trusted && h.data_length > kAuthNonceLen + kAuthMacLen) {
      answer_untrusted(c, std::move(req));
      c.closing = true;
      on_writable(c);
      return;
    }
    if (has_payload && h.data_length > kMaxPayload) {
      // We cannot skip a payload we refuse to buffer: answer and close.
      sd_err("request %02x with a %u-byte payload refused", h.opcode, h.data_length);
      req->rsp = SdRsp{};
      req->rsp.opcode = h.opcode;
      req->rsp.id = h.id;
      req->rsp.epoch = runner_.reply_epoch();
      req->rsp.result = uint32_t(Res::InvalidParms);
      {
        std::lock_guard<std::mutex> lk(c.out_mu);
        c.outq.push_back(std::move(req));
      }
      c.closing = true;
      on_writable(c);
      return;
    }
    if (has_payload) {
      req->payload.reset(new char[h.data_length]);
      c.cur = std::move(req);
      c.payload_got = 0;
      continue;
    }
    dispatch(c, std::move(req));
  }
  if (!conns_.count(id)) return;
  // Replies answered inline during this wake-up go out together; requests
  // left in the buffer (round limit, caps) are noted there.
  on_writable(c);
}

void Server::dispatch(Conn& c, std::unique_ptr<Request> req) {
  if (!c.trusted) {
    answer_untrusted(c, std::move(req));
    return;
  }
  req->received_at = std::chrono::steady_clock::now();
  // Hot reads are answered here, without a thread hop; their replies are
  // sent when this wake-up's reading is done.
  if (runner_.run_inline(*req)) {
    req->charged = sizeof(Request) + req->rsp.data_length;
    c.reply_bytes += req->charged;
    std::lock_guard<std::mutex> lk(c.out_mu);
    c.outq.push_back(std::move(req));
    return;
  }
  // Until it completes it holds, or may, its payload or its largest reply.
  req->charged = sizeof(Request) + size_t(req->hdr.data_length);
  c.reply_bytes += req->charged;
  c.inflight++;
  RequestRunner::Queue queue = runner_.queue_of(*req);
  Request* raw = req.release();
  std::shared_ptr<Conn> conn = conns_.at(c.id);
  auto job = [this, conn, raw] {
    std::unique_ptr<Request> r(raw);
    runner_.run(*r);
    complete(*conn, std::move(r));
  };
  switch (queue) {
    case RequestRunner::Queue::Immediate: job(); break;  // INVALID_PARMS or VER_MISMATCH
    case RequestRunner::Queue::Io: io_wq_.submit(job); break;
    case RequestRunner::Queue::Gateway: gway_wq_.submit(job); break;
  }
}

void Server::complete(Conn& c, std::unique_ptr<Request> req) {
  bool wake_loop;
  {
    std::lock_guard<std::mutex> lk(c.out_mu);
    if (c.closed) {  // the client went away
      if (--c.inflight == 0) report_closed_locked(c);
      return;
    }
    // The payload is done with and the reply's size known: that is what
    // it holds from now on, instead of what was set aside for it.
    req->payload.reset();
    size_t reserved = req->charged, retired = 0;
    req->charged = sizeof(Request) + req->rsp.data_length;
    if (req->charged > reserved)
      c.reply_bytes += req->charged - reserved;
    else
      retired = reserved - req->charged;
    c.outq.push_back(std::move(req));
    // Send it from this thread unless the loop is already waiting for the
    // socket to drain (then it owns the sending).
    if (c.outq.size() == 1 && !c.broken && !flush_locked(c, &retired)) c.broken = true;
    bool resume = release_reply_bytes(c, retired);
    int left = --c.inflight;
    // The loop is needed for what a worker cannot do: wait for EPOLLOUT,
    // close the connection, or resume reading after either cap.
    wake_loop = c.broken || !c.outq.empty() || left == kMaxInflight - 1 || resume ||
                (c.closing && left == 0);
  }
  if (!wake_loop) return;
  {
    std::lock_guard<std::mutex> lk(done_mu_);
    done_.push_back(c.id);
  }
  uint64_t one = 1;
  ssize_t rc = write(event_fd_, &one, sizeof(one));
  (void)rc;
}

void Server::report_closed_locked(Conn& c) {
  if (c.reported) return;
  c.reported = true;
  if (!c.trusted) return;  // it ran nothing and held nothing
  uint64_t id = c.id;
  gway_wq_.submit([this, id] { runner_.connection_closed(id); });
}

void Server::close_connections(const std::vector<uint64_t>& ids) {
  {
    std::lock_guard<std::mutex> lk(done_mu_);
    to_close_.insert(to_close_.end(), ids.begin(), ids.end());
  }
  uint64_t one = 1;
  ssize_t rc = write(event_fd_, &one, sizeof(one));
  (void)rc;
}

void Server::drain_completions() {
  std::vector<uint64_t> ids, closing;
  {
    std::lock_guard<std::mutex> lk(done_mu_);
    ids.swap(done_);
    closing.swap(to_close_);
  }
  for (uint64_t id : closing) close_conn(id);
  // on_writable may close a connection, so look each one up again.
  for (uint64_t id : ids)
    if (std::shared_ptr<Conn> keep = find_conn(id)) on_writable(*keep);
}

bool Server::flush_locked(Conn& c, size_t* retired) {
  while (!c.outq.empty()) {
    // Gather up to kMaxBatch replies (header + data each) into one writev.
    iovec iov[2 * kMaxBatch];
    int cnt = 0;
    size_t skip = c.out_off, want = 0;
    for (auto it = c.outq.begin(); it != c.outq.end() && cnt + 2 <= 2 * kMaxBatch; ++it) {
      Request& r = **it;
      iovec parts[2] = {{&r.rsp, sizeof(SdRsp)}, {r.reply.get(), r.rsp.data_length}};
      for (auto& part : parts) {
        if (!part.iov_len) continue;
        if (skip >= part.iov_len) {
          skip -= part.iov_len;
          continue;
        }
        iov[cnt++] = {static_cast<char*>(part.iov_base) + skip, part.iov_len - skip};
        want += part.iov_len - skip;
        skip = 0;
      }
    }
    ssize_t n = writev(c.fd, iov, cnt);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      if (errno == EINTR) continue;
      return false;
    }
    // Retire the replies that went out completely.
    size_t sent = c.out_off + size_t(n);
    while (!c.outq.empty()) {
      size_t total = sizeof(SdRsp) + c.outq.front()->rsp.data_length;
      if (sent < total) break;
      sent -= total;
      *retired += c.outq.front()->charged;
      c.outq.pop_front();
    }
    c.out_off = sent;
    if (size_t(n) < want) return true;  // the socket is full
  }
  return true;
}

void Server::on_writable(Conn& c) {
  uint64_t id = c.id;
  bool ok, flushed;
  {
    std::lock_guard<std::mutex> lk(c.out_mu);
    size_t retired = 0;
    ok = !c.broken && flush_locked(c, &retired);
    release_reply_bytes(c, retired);  // (the loop looks again below)
    flushed = c.outq.empty();
  }
  if (!ok || (c.closing && flushed && c.inflight == 0)) {
    close_conn(id);
    return;
  }
  update_events(c);
  note_ready(c);
}

}  // namespace sd
