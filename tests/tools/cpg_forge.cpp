// cpg-forge: a process that joins the sheep's corosync process group
// ("sheepdog") without being a sheep, and sends what an attacker on a
// corosync host would: records of the membership protocol
// (daemon/cluster/membership_protocol.h), unsealed.
//
//   cpg-forge join ADDR PORT          a JOIN from itself for node ADDR:PORT
//   cpg-forge msg SENDER HEX          a MSG claiming to come from SENDER
//                                     ("nodeid:pid"), cluster message HEX
//   cpg-forge replay                  says "joined", waits (20 s at most) for
//                                     a MSG record from a sheep and sends it
//                                     again
// (A record: type, sender id, incarnation, sequence number, body.)
// It stays in the group for a second after sending, then leaves.
#include <corosync/cpg.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "proto/node.h"

namespace {

std::vector<char> g_replay;  // the record to send again (replay mode)

void append(std::vector<char>& b, const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  b.insert(b.end(), c, c + n);
}
void append_u32(std::vector<char>& b, uint32_t v) { append(b, &v, 4); }
void append_str(std::vector<char>& b, const std::string& s) {
  append_u32(b, uint32_t(s.size()));
  append(b, s.data(), s.size());
}

void on_deliver(cpg_handle_t, const cpg_name*, uint32_t, uint32_t pid, void* msg, size_t len) {
  const char* p = static_cast<const char*>(msg);
  if (pid == uint32_t(getpid()) || len < 1 || !g_replay.empty()) return;
  if ((uint8_t(p[0]) & 0x7f) == 3) g_replay.assign(p, p + len);
}

void on_confchg(cpg_handle_t, const cpg_name*, const cpg_address*, size_t, const cpg_address*,
                size_t, const cpg_address*, size_t) {}

std::vector<char> from_hex(const std::string& h) {
  std::vector<char> out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(char(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: cpg-forge join ADDR PORT | msg SENDER HEX | replay\n");
    return 2;
  }
  std::string mode = argv[1];
  cpg_model_v1_data_t model{};
  model.model = CPG_MODEL_V1;
  model.cpg_deliver_fn = on_deliver;
  model.cpg_confchg_fn = on_confchg;
  cpg_handle_t h;
  if (cpg_model_initialize(&h, CPG_MODEL_V1, reinterpret_cast<cpg_model_data_t*>(&model),
                           nullptr) != CS_OK) {
    std::fprintf(stderr, "cannot reach corosync\n");
    return 1;
  }
  unsigned int nodeid = 0;
  cpg_local_get(h, &nodeid);
  std::string self = std::to_string(nodeid) + ":" + std::to_string(getpid());
  cpg_name group{};
  group.length = 8;
  std::memcpy(group.value, "sheepdog", 8);
  if (cpg_join(h, &group) != CS_OK) {
    std::fprintf(stderr, "cannot join the group\n");
    return 1;
  }
  int fd = -1;
  cpg_fd_get(h, &fd);
  auto pump = [&](std::chrono::milliseconds for_how_long, bool until_replay) {
    auto end = std::chrono::steady_clock::now() + for_how_long;
    while (std::chrono::steady_clock::now() < end && !(until_replay && !g_replay.empty())) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 50) > 0) cpg_dispatch(h, CS_DISPATCH_ALL);
    }
  };
  std::vector<char> rec;
  uint64_t incarnation = 7, seq = 1ull << 40;
  if (mode == "join" && argc == 4) {
    sd::SdNode n{};
    sd::parse_addr(argv[2], n.nid.addr);
    n.nid.port = uint16_t(std::stoi(argv[3]));
    n.nr_vnodes = 128;
    rec.push_back(1);
    append_str(rec, self);
    append(rec, &incarnation, 8);
    append(rec, &seq, 8);
    append(rec, &n, sizeof(n));
    append_u32(rec, 0);  // no join info
  } else if (mode == "msg" && argc == 4) {
    std::vector<char> msg = from_hex(argv[3]);
    rec.push_back(3);
    append_str(rec, argv[2]);
    append(rec, &incarnation, 8);
    append(rec, &seq, 8);
    append_u32(rec, uint32_t(msg.size()));
    append(rec, msg.data(), msg.size());
  } else if (mode == "replay") {
    std::printf("joined as %s\n", self.c_str());
    std::fflush(stdout);
    pump(std::chrono::seconds(20), true);
    if (g_replay.empty()) {
      std::fprintf(stderr, "no record to replay\n");
      return 1;
    }
    rec = g_replay;
  } else {
    std::fprintf(stderr, "bad arguments\n");
    return 2;
  }
  iovec iov{rec.data(), rec.size()};
  cs_error_t rc;
  while ((rc = cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1)) == CS_ERR_TRY_AGAIN)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (rc != CS_OK) {
    std::fprintf(stderr, "cpg_mcast_joined: %d\n", int(rc));
    return 1;
  }
  std::printf("sent %zu bytes as %s\n", rec.size(), self.c_str());
  pump(std::chrono::seconds(1), false);
  cpg_leave(h, &group);
  cpg_finalize(h);
  return 0;
}
