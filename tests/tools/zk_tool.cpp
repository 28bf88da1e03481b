// zk-tool: looks at (and pokes) a ZooKeeper server the way the tests need,
// as a client that holds no cluster key.
//
//   zk-tool HOSTS count PATH       number of children of PATH
//   zk-tool HOSTS read PATH        reads PATH; prints "ok" or the error name
//   zk-tool HOSTS create PATH      creates PATH (persistent sequential under
//                                  it when PATH ends in '/'); "ok" or the error
// Exit status 0 when the operation succeeded.
#define THREADED
#include <zookeeper/zookeeper.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

namespace {
std::atomic<int> g_state{0};
void watcher(zhandle_t*, int type, int state, const char*, void*) {
  if (type == ZOO_SESSION_EVENT) g_state = state;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: zk-tool HOSTS count|read|create PATH\n");
    return 2;
  }
  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  zhandle_t* zh = zookeeper_init(argv[1], watcher, 10000, nullptr, nullptr, 0);
  if (!zh) return 1;
  for (int i = 0; i < 500 && g_state != ZOO_CONNECTED_STATE; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // (connecting: a bounded wait)
  if (g_state != ZOO_CONNECTED_STATE) {
    std::printf("not connected\n");
    return 1;
  }
  std::string op = argv[2];
  std::string path = argv[3];
  int rc;
  if (op == "count") {
    String_vector v{};
    rc = zoo_get_children(zh, path.c_str(), 0, &v);
    if (rc == ZOK) {
      std::printf("%d\n", v.count);
      deallocate_String_vector(&v);
    }
  } else if (op == "read") {
    char buf[1024];
    int len = sizeof(buf);
    rc = zoo_get(zh, path.c_str(), 0, buf, &len, nullptr);
    std::printf("%s\n", rc == ZOK ? "ok" : zerror(rc));
  } else if (op == "create") {
    bool seq = !path.empty() && path.back() == '/';
    rc = zoo_create(zh, (seq ? path + "q-" : path).c_str(), "x", 1, &ZOO_OPEN_ACL_UNSAFE,
                    seq ? ZOO_PERSISTENT_SEQUENTIAL : 0, nullptr, 0);
    std::printf("%s\n", rc == ZOK ? "ok" : zerror(rc));
  } else {
    return 2;
  }
  if (op == "count" && rc != ZOK) std::printf("%s\n", zerror(rc));
  zookeeper_close(zh);
  return rc == ZOK ? 0 : 1;
}
