// Fuzz target: what a sheep answers the client library (dog and the nbd
// plugin trust nothing a sheep sends either). Each input is a byte of
// which calls to make, an export name (length byte, then the name: the
// plugin opens the VDI an NBD client names) and then the byte stream of
// replies a fake sheep sends on one connection, whatever was asked. The
// library then runs what the plugin and dog do: open the VDI (GET_VDI_INFO, the inode: its header, map and,
// for a hyper volume, the B-tree root and leaves), read and write blocks,
// walk the map, take a lock, list the node list and VDI states.
// Reply framing (ids, lengths larger than asked), inode and B-tree
// decoding are all reached.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "client/requests.h"
#include "client/sheep_client.h"
#include "client/vdi.h"
#include "client/vdi_locks.h"
#include "temp_dir.h"

namespace {

int g_listen = -1;
sd::Endpoint g_ep;

// Which calls an input makes (its first byte). The list calls allocate
// their largest answer first (every node, every VDI's 1428-byte state):
// they run only when all three top bits are set as well, or every run
// would pay for them. (The VDI bitmap is a plain byte array: not here.)
enum Calls : uint8_t { kOpenVdi = 1, kLock = 2, kNodeList = 4, kStates = 8, kLists = 0xe0 };

void run_client(uint8_t calls, const std::string& name) {
  auto client = sd::SheepClient::connect(g_ep);
  if (!client) return;
  client->set_call_timeout(std::chrono::milliseconds(2000));
  client->set_auto_reconnect(false);  // one connection: the fake sheep accepts one
  auto v = (calls & kOpenVdi) ? sd::Vdi::open(*client, name) : sd::Result<std::unique_ptr<sd::Vdi>>(sd::err(sd::Res::NoVdi));
  if (v.ok()) {
    std::vector<char> buf(1 << 16);
    (void)(*v)->read(buf.data(), buf.size(), 0);
    (void)(*v)->read(buf.data(), 4096, (*v)->size() > 8192 ? (*v)->size() - 4096 : 0);
    (void)(*v)->map_entry(0);
    (void)(*v)->map_entry(1000);
    (void)(*v)->next_allocated(0);
    std::memset(buf.data(), 'w', 4096);
    (void)(*v)->write(buf.data(), 4096, 4096);
    (void)(*v)->discard(4096, 0);
    (void)(*v)->refresh();
  }
  if (calls & kLock) (void)sd::lock_vdi(*client, name, false);
  if ((calls & kLists) != kLists) return;
  if (calls & kNodeList) (void)sd::get_node_list(*client);
  if (calls & kStates) (void)sd::lock_holder_str(*client, 1);  // (the VDI states)
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_ep.unix_path = sdfuzz::make_temp_dir("sd-fuzz-client") + "/sock";
  g_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, g_ep.unix_path.c_str(), sizeof(a.sun_path) - 1);
  if (bind(g_listen, reinterpret_cast<sockaddr*>(&a), sizeof(a)) < 0 || listen(g_listen, 8) < 0)
    std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  uint8_t calls = data[0];
  size_t name_len = data[1];
  if (name_len > size - 2) name_len = size - 2;
  std::string name(reinterpret_cast<const char*>(data + 2), name_len);
  const uint8_t* replies = data + 2 + name_len;
  size_t replies_len = size - 2 - name_len;
  // The fake sheep: sends the replies, half-closes, and reads (discards)
  // whatever the client asks until it closes.
  std::thread sheep([&] {
    int fd = accept4(g_listen, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    size_t sent = 0;
    while (sent < replies_len) {
      ssize_t n = send(fd, replies + sent, replies_len - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += size_t(n);
    }
    shutdown(fd, SHUT_WR);
    char sink[1 << 16];
    while (recv(fd, sink, sizeof(sink), 0) > 0) {
    }
    close(fd);
  });
  run_client(calls, name);
  sheep.join();
  return 0;
}
