// SheepRig (sheep_rig.h): assembly of one in-process sheep for fuzzing.
#include "sheep_rig.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/file_util.h"
#include "base/log.h"
#include "client/requests.h"
#include "client/sheep_client.h"
#include "cluster/driver.h"
#include "proto/inode.h"
#include "proto/wire.h"
#include "temp_dir.h"

namespace sdfuzz {

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "fuzz rig: %s\n", what);
  std::abort();
}

// A TCP port nobody listens on now (the kernel picks it).
uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) < 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) < 0)
    die("no free TCP port");
  close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

bool is_forbidden_opcode(uint8_t opcode) {
  switch (opcode) {
    case sd::kOpShutdown:
    case sd::kOpKillNode:
    case sd::kOpMdPlug:
    case sd::kOpMdUnplug:
    case sd::kOpSetLoglevel:
      return true;
    default:
      return false;
  }
}

SheepRig& SheepRig::instance() {
  static SheepRig* rig = new SheepRig();  // never destroyed: threads run until exit
  return *rig;
}

SheepRig::SheepRig() {
  root_ = make_temp_dir("sd-fuzz");
  start();
  format();
}

void SheepRig::start() {
  // As daemon/main.cpp: a reply to a client that has gone must not kill us.
  signal(SIGPIPE, SIG_IGN);
  opts_.dir = root_ + "/sheep";
  opts_.cluster = "local";
  opts_.cluster_opts = root_ + "/cluster";
  opts_.port = free_port();
  opts_.foreground = true;
  opts_.nosync = true;
  // A fuzzed recovery read of the next epochs would wait 10 s for them.
  opts_.peer_epoch_wait_ms = 10;
  if (!sd::make_dirs(opts_.dir, 0700) || !sd::make_dirs(opts_.dir + "/epoch", 0700))
    die("cannot make the sheep's directories");
  std::string why;
  if (!sd::prepare_local_dir(opts_.cluster_opts, &why)) die(why.c_str());
  // Errors only: a fuzz run sends millions of refused requests.
  if (!sd::log::open(root_ + "/sheep.log", sd::log::Emerg)) die("cannot open the log");

  sheep_ = std::make_unique<sd::Sheep>(opts_);
  sd::Sheep& s = *sheep_;
  sd::parse_addr("127.0.0.1", s.self.nid.addr);
  s.self.nid.port = opts_.port;
  s.self.zone = sd::default_zone(s.self.nid.addr);
  s.self.nr_vnodes = sd::kDefaultVnodes;
  if (!s.store.init().ok()) die("cannot initialise the object store");
  s.audit.load();
  s.locks.keep_revoked_in(opts_.dir + "/obj/.lock-revocations");
  s.lease.set_audited(s.audit.audited());
  s.store.set_listener(&s);
  s.rebuild_vdi_table();
  runner_ = std::make_unique<sd::OpRunner>(s);
  server_ = std::make_unique<sd::Server>(*runner_, sd::ClusterKey{}, 30);
  s.server = server_.get();
  socket_path_ = opts_.dir + "/sock";
  if (!server_->listen("127.0.0.1", opts_.port, socket_path_)) die("cannot listen");
  s.driver = sd::make_cluster_driver(opts_.cluster, opts_.cluster_opts, sd::ClusterKey{});
  if (!s.driver) die("no local cluster driver");
  s.epoch_recovery.start();
  if (!s.group.start(s.driver.get()).ok()) die("cannot start the group");
  loop_ = std::thread([this] { server_->run(); });
}

void SheepRig::format() {
  sd::Endpoint ep;
  ep.unix_path = socket_path_;
  auto client = sd::SheepClient::connect(ep);
  if (!client) die("cannot connect to the rig's socket");
  sd::request::Format f;
  f.copies = 1;
  f.ctime = 1;
  static const char kStore[] = "plain";
  auto rsp = client->call(sd::request::make_fs(f, sizeof(kStore)), kStore, nullptr, 0);
  if (!rsp.ok() || rsp->result != uint32_t(sd::Res::Success)) die("format failed");
}

}  // namespace sdfuzz
