// SheepRig: one whole sheep inside the fuzzing process (fuzz targets only).
//
// Built the way daemon/main.cpp builds a daemon (store, group, the local
// cluster driver, the event loop on its own thread) on a fresh temporary
// directory, formatted with one copy, so that requests and cluster
// records reach the real handlers with real state behind them. It lives
// until the process exits; the temporary directory is removed at exit.
// Its writes skip fdatasync (sheep -n): durability is not what is tested,
// and a sync per fuzzed write would make runs a hundred times slower.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "ops/ops.h"
#include "server/server.h"
#include "sheep.h"

namespace sdfuzz {

class SheepRig {
 public:
  // The one rig of this process, started on first use (aborts with a
  // message when it cannot start: a fuzz run without it means nothing).
  static SheepRig& instance();

  sd::Sheep& sheep() { return *sheep_; }
  // The opcode table as the event loop calls it (fuzz_request_stream runs
  // requests through it on the fuzzing thread, without a socket).
  sd::OpRunner& runner() { return *runner_; }
  // DIR/sock: the trusted socket a request stream is written to.
  const std::string& socket_path() const { return socket_path_; }
  // Formats the cluster again (every object and VDI gone): called every
  // so many runs, so that what fuzzed writes stored stays bounded.
  void format();

 private:
  SheepRig();
  void start();

  std::string root_;
  std::string socket_path_;
  sd::SheepOptions opts_;
  std::unique_ptr<sd::Sheep> sheep_;
  std::unique_ptr<sd::OpRunner> runner_;
  std::unique_ptr<sd::Server> server_;
  std::thread loop_;
};

// Opcodes a fuzzed stream must not send, because they end or reshape the
// process rather than exercise a parser: SHUTDOWN and KILL_NODE stop the
// sheep, MD_PLUG/MD_UNPLUG name directories of this machine (any path:
// DIR/sock is the administrator's socket), SET_LOGLEVEL would fill the
// disk with debug lines. They are rewritten to GET_LOGLEVEL (harmless).
bool is_forbidden_opcode(uint8_t opcode);

}  // namespace sdfuzz
