// Fuzz target: the bytes a client sends a sheep. Each input is written, as
// one connection's stream, to DIR/sock of a whole in-process sheep
// (sheep_rig.h); the replies are read and discarded. This reaches the
// event loop's framing and limits (server/server.cpp), the opcode table's
// checks (ops/ops.cpp) and every handler's payload decoding with the
// store, VDI table and locks behind them. Opcodes that would stop the
// sheep or name this machine's directories are rewritten (sheep_rig.h).
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <vector>

#include "proto/wire.h"
#include "sheep_rig.h"

namespace {

// Walks the stream as the server frames it (a header, then a payload when
// the write flag is set) and defuses forbidden opcodes.
void defuse(std::vector<uint8_t>& s) {
  size_t pos = 0;
  while (s.size() - pos >= sizeof(sd::SdReq)) {
    sd::SdReq h;
    std::memcpy(&h, s.data() + pos, sizeof(h));
    if (sdfuzz::is_forbidden_opcode(h.opcode)) s[pos + offsetof(sd::SdReq, opcode)] = sd::kOpGetLoglevel;
    pos += sizeof(h);
    if ((h.flags & sd::kFlagWrite) && h.data_length) {
      if (h.data_length > s.size() - pos) break;
      pos += h.data_length;
    }
  }
}

int connect_to(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) < 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  sdfuzz::SheepRig::instance();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static unsigned runs = 0;
  if (++runs % 20000 == 0) sdfuzz::SheepRig::instance().format();
  std::vector<uint8_t> stream(data, data + size);
  defuse(stream);
  int fd = connect_to(sdfuzz::SheepRig::instance().socket_path());
  if (fd < 0) return 0;
  // Write the stream while reading replies (a reply may be large), then
  // half-close and read until the sheep closes; a request that waits on
  // something (a lock, the cluster) is abandoned after a few seconds.
  size_t sent = 0;
  bool half_closed = false;
  static char sink[1 << 16];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (sent == stream.size() && !half_closed) {
      shutdown(fd, SHUT_WR);
      half_closed = true;
    }
    pollfd p{fd, short(POLLIN | (half_closed ? 0 : POLLOUT)), 0};
    if (poll(&p, 1, 100) < 0) break;
    if (p.revents & POLLOUT) {
      ssize_t n = send(fd, stream.data() + sent, stream.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN) break;  // the sheep closed: it refused something
      if (n > 0) sent += size_t(n);
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = recv(fd, sink, sizeof(sink), 0);
      if (n == 0 || (n < 0 && errno != EAGAIN)) break;
    }
  }
  close(fd);
  return 0;
}
