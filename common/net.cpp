// Socket helpers.
#include "net.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sd {

std::string Endpoint::str() const {
  if (!unix_path.empty()) return "unix:" + unix_path;
  return host + ":" + std::to_string(port);
}

void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void set_dead_peer_timeout(int fd, unsigned seconds) {
  if (seconds == 0) return;
  int one = 1;
  int idle = int(seconds / 2 ? seconds / 2 : 1);
  int intvl = int(seconds / 6 ? seconds / 6 : 1);
  int count = 3;
  unsigned timeout_ms = seconds * 1000;
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
  setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout_ms, sizeof(timeout_ms));
}

void set_nonblocking(int fd, bool on) {
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK));
}

// connect() that gives up after kConnectTimeoutMs (a blackholed address
// would otherwise block for minutes).
static int connect_with_timeout(int fd, const sockaddr* sa, socklen_t len) {
  constexpr int kConnectTimeoutMs = 5000;
  set_nonblocking(fd, true);
  int rc = connect(fd, sa, len);
  if (rc < 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    rc = poll(&p, 1, kConnectTimeoutMs);
    if (rc == 0) {
      errno = ETIMEDOUT;
      rc = -1;
    } else if (rc > 0) {
      int soerr = 0;
      socklen_t sl = sizeof(soerr);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
      if (soerr) {
        errno = soerr;
        rc = -1;
      } else {
        rc = 0;
      }
    }
  }
  int saved = errno;
  set_nonblocking(fd, false);
  errno = saved;
  return rc;
}

int connect_endpoint(const Endpoint& ep) {
  if (!ep.unix_path.empty()) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (ep.unix_path.size() >= sizeof(sa.sun_path)) {
      close(fd);
      errno = ENAMETOOLONG;
      return -1;
    }
    std::memcpy(sa.sun_path, ep.unix_path.c_str(), ep.unix_path.size() + 1);
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) {
      int e = errno;
      close(fd);
      errno = e;
      return -1;
    }
    return fd;
  }
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  std::string port = std::to_string(ep.port);
  int rc = getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    errno = EHOSTUNREACH;
    return -1;
  }
  int last_errno = ECONNREFUSED;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    if (connect_with_timeout(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      freeaddrinfo(res);
      set_nodelay(fd);
      // A sheep that vanishes without a reset (a partition) must not hold
      // a caller forever.
      set_dead_peer_timeout(fd, kClientDeadPeerSeconds);
      return fd;
    }
    last_errno = errno;
    close(fd);
  }
  freeaddrinfo(res);
  errno = last_errno;
  return -1;
}

int listen_tcp(const std::string& bind_addr, uint16_t port) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  hints.ai_family = bind_addr.empty() ? AF_INET6 : AF_UNSPEC;
  std::string p = std::to_string(port);
  if (getaddrinfo(bind_addr.empty() ? nullptr : bind_addr.c_str(), p.c_str(), &hints, &res) != 0) {
    errno = EADDRNOTAVAIL;
    return -1;
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(res);
    return -1;
  }
  int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (res->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
    int e = errno;
    freeaddrinfo(res);
    close(fd);
    errno = e;
    return -1;
  }
  freeaddrinfo(res);
  return fd;
}

int listen_unix(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof(sa.sun_path)) {
    close(fd);
    errno = ENAMETOOLONG;
    return -1;
  }
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  unlink(path.c_str());
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0 || listen(fd, 1024) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

Status read_full(int fd, void* buf, size_t len) {
  auto* p = static_cast<char*>(buf);
  while (len) {
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return err(Res::NetworkError);
    p += n;
    len -= size_t(n);
  }
  return {};
}

Status write_full(int fd, const void* buf, size_t len) {
  iovec iov{const_cast<void*>(buf), len};
  return writev_full(fd, &iov, 1);
}

Status writev_full(int fd, iovec* iov, int iovcnt) {
  while (iovcnt > 0) {
    // sendmsg with MSG_NOSIGNAL: a peer that went away must not SIGPIPE us.
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = size_t(iovcnt);
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == ENOTSOCK) n = writev(fd, iov, iovcnt);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return err(Res::NetworkError);
    size_t done = size_t(n);
    while (iovcnt > 0 && done >= iov->iov_len) {
      done -= iov->iov_len;
      iov++;
      iovcnt--;
    }
    if (iovcnt > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + done;
      iov->iov_len -= done;
    }
  }
  return {};
}

}  // namespace sd
