// Fuzz target: what a sheep reads from its own directory at start-up and
// the text it parses from its command line and from other processes. The
// first byte picks the parser; the rest is the file's (or text's) bytes:
//   0 an epoch record (epoch/NNNNNNNN, group/epoch_log.cpp)
//   1 the config file (DIR/config, group/config_file.cpp)
//   2 an object file name (store/plain_store.cpp: what a directory scan
//     of obj/ meets, including files others put there)
//   3 the revoked lock tokens (obj/.lock-revocations, group/vdi_locks.cpp)
//   4 a cluster key file (--auth-key, cluster_key.cpp)
//   5 ZooKeeper driver options (-c zookeeper:...)
//   6 sizes and addresses as dog and sheep parse them (size.cpp, node.cpp)
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cluster/driver.h"
#include "cluster_key.h"
#include "group/config_file.h"
#include "group/epoch_log.h"
#include "group/vdi_locks.h"
#include "proto/node.h"
#include "size.h"
#include "store/plain_store.h"
#include "temp_dir.h"

namespace {

std::string g_dir;

std::string put_file(const char* name, const uint8_t* data, size_t size) {
  std::string path = g_dir + "/" + name;
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) std::abort();
  size_t done = 0;
  while (done < size) {
    ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) std::abort();
    done += size_t(n);
  }
  close(fd);
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_dir = sdfuzz::make_temp_dir("sd-fuzz-files");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint8_t which = data[0];
  data++;
  size--;
  std::string text(reinterpret_cast<const char*>(data), size);
  switch (which % 7) {
    case 0: {
      uint32_t epoch = size >= 4 ? uint32_t(data[0]) | uint32_t(data[1]) << 8 : 1;
      (void)sd::EpochLog::decode(epoch, reinterpret_cast<const char*>(data), size);
      break;
    }
    case 1: {
      sd::ConfigFile cfg(put_file("config", data, size));
      (void)cfg.load();
      break;
    }
    case 2: {
      std::string name = text.substr(0, text.find('\0'));
      uint64_t oid;
      int piece;
      (void)sd::parse_oid_name(name.c_str(), &oid);
      (void)sd::parse_object_name(name.c_str(), &oid, &piece);
      break;
    }
    case 3: {
      sd::VdiLocks locks;
      locks.keep_revoked_in(put_file("revocations", data, size));
      (void)locks.revoked();
      break;
    }
    case 4: {
      sd::ClusterKey key;
      std::string why;
      (void)sd::ClusterKey::load(put_file("key", data, size), &key, &why);
      break;
    }
    case 5: {
#ifdef SD_HAVE_ZOOKEEPER
      sd::ZooKeeperOptions zk;
      std::string why;
      (void)sd::parse_zookeeper_options(text, &zk, &why);
#endif
      break;
    }
    case 6: {
      std::string s = text.substr(0, text.find('\0'));
      uint64_t v;
      uint8_t addr[16];
      (void)sd::parse_size(s.c_str(), &v);
      (void)sd::parse_u64(s.c_str(), UINT64_MAX, &v);
      (void)sd::parse_addr(s.c_str(), addr);
      break;
    }
  }
  return 0;
}
