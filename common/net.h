// Sockets: connecting to a sheep over TCP or a unix socket, listening, and
// whole-buffer reads and writes that retry on EINTR and short transfers.
#pragma once
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "result.h"

namespace sd {

struct Endpoint {
  std::string host = "127.0.0.1";  // IPv4/IPv6 literal or resolvable name
  uint16_t port = 7000;
  std::string unix_path;  // when set, host and port are ignored

  std::string str() const;
};

// Connects with TCP_NODELAY. On failure returns -1 and sets errno.
int connect_endpoint(const Endpoint& ep);

// Listening sockets; -1 with errno on failure. An empty bind address means
// every interface.
int listen_tcp(const std::string& bind_addr, uint16_t port);
int listen_unix(const std::string& path);

// Blocking whole transfers. NetworkError on EOF or a socket error.
Status read_full(int fd, void* buf, size_t len);
Status write_full(int fd, const void* buf, size_t len);
Status writev_full(int fd, struct iovec* iov, int iovcnt);

void set_nonblocking(int fd, bool on);
void set_nodelay(int fd);
// Dead-peer detection on a TCP socket (docs: README "Access"): keepalive
// probes start after seconds/2 of silence, and TCP_USER_TIMEOUT fails the
// socket once a probe or data has gone unacknowledged for `seconds`. A
// peer that vanished without a reset (host gone, link down, partition) is
// noticed within about `seconds` instead of never.
void set_dead_peer_timeout(int fd, unsigned seconds);
// What connect_endpoint() sets on TCP connections (dog, the plugin, and
// connections between sheep).
inline constexpr unsigned kClientDeadPeerSeconds = 15;

}  // namespace sd
