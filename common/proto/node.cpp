// Address formatting and parsing for node ids; timestamps.
#include "proto/node.h"

#include <arpa/inet.h>
#include <sys/time.h>

#include <cstdio>

#include "proto/inode.h"

namespace sd {

static bool is_v4(const uint8_t addr[16]) {
  for (int i = 0; i < 12; i++)
    if (addr[i]) return false;
  return true;
}

std::string addr_str(const uint8_t addr[16]) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (is_v4(addr) && addr[12])
    inet_ntop(AF_INET, addr + 12, buf, sizeof(buf));
  else
    inet_ntop(AF_INET6, addr, buf, sizeof(buf));
  return buf;
}

std::string node_addr_str(const NodeId& nid) {
  return addr_str(nid.addr) + ":" + std::to_string(nid.port);
}

bool parse_addr(const char* text, uint8_t out[16]) {
  std::memset(out, 0, 16);
  if (std::strchr(text, ':')) return inet_pton(AF_INET6, text, out) == 1;
  return inet_pton(AF_INET, text, out + 12) == 1;
}

uint32_t default_zone(const uint8_t addr[16]) {
  uint32_t z;
  std::memcpy(&z, addr + 12, 4);
  return z;
}

uint64_t now_timestamp() {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  return (uint64_t(tv.tv_sec) << 32) | (uint64_t(tv.tv_usec) * 1000);
}

}  // namespace sd
