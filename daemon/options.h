// The sheep command line (docs/CLI.md §1): parsing and validation with
// upstream's messages, help and version text.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sd {

struct SheepOptions {
  std::string dir = "/tmp";     // meta directory (first PATH element)
  std::vector<std::string> disks;  // object directories (further PATH elements)
  std::string bind_addr;        // -b; empty = every interface
  std::string cluster;          // -c driver name; empty: corosync if it answers, else local
  std::string cluster_opts;     // text after "driver:"
  bool directio = false;        // -D: accepted for compatibility, ignored
  bool foreground = false;      // -f
  bool gateway = false;         // -g
  std::string log_dir;          // -l dir=
  int log_level = 6;            // -l level=
  bool log_stdout = false;      // -l dst=stdout
  bool nosync = false;          // -n
  uint16_t port = 7000;         // -p
  std::string pidfile;          // -P
  uint32_t recovery_max = 0;    // -R max=
  uint64_t recovery_interval = 0;  // -R interval=
  bool upgrade = false;         // -u
  int vnodes = 0;               // -V; 0 = auto
  std::string myaddr;           // -y
  std::string io_addr;          // -i host=: a second address for I/O between sheep
  uint16_t io_port = 0;         // -i port= (7000 when only host= is given)
  bool zone_set = false;
  uint32_t zone = 0;            // -z
  std::string auth_key_file;    // --auth-key: the cluster key (empty: none)
  unsigned tcp_timeout = 30;    // --tcp-timeout: seconds until a silent, unanswering peer is dropped
  bool metrics = false;         // --metrics: serve the metrics page over HTTP
  std::string metrics_addr;     // its address: given, else 127.0.0.1
  uint16_t metrics_port = 0;
  // Not on the command line: how long a recovery read from a newer epoch
  // waits for this node to reach it (the fuzzing rig shortens it).
  unsigned peer_epoch_wait_ms = 10000;
};

// Parses argv. Returns -1 to go on, otherwise the exit code to exit with
// (after printing help, version or an error exactly as upstream does).
int parse_sheep_options(int argc, char** argv, SheepOptions* out);

}  // namespace sd
