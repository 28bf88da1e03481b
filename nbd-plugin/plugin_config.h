// The plugin's configuration (nbdkit's .config and .config_complete):
// the keys of `nbdkit sheepdog ...`, checked once at start-up, and the
// cluster key the plugin's TCP connections prove. See nbd-plugin/README.md.
#pragma once
#include <cstdint>
#include <string>

#include "proto/wire.h"

namespace plugin_config {

// Configuration, filled in by .config and checked by .config_complete.
struct Config {
  std::string vdi;
  std::string tag;
  uint32_t snapid = 0;
  std::string address = "127.0.0.1";
  uint16_t port = sd::kListenPort;
  std::string socket;
  bool address_given = false;
  bool port_given = false;
  bool local_read = true;  // with socket=: read object files of that sheep directly
  bool readonly = false;   // serve read-only, without a lock
  bool shared_lock = false;  // lock=shared: a second writer for a hand-over
  bool key_given = false;    // auth-key=
  // connections=: connections to the sheep that reads are spread over,
  // one per nbdkit thread up to this many (1: every request shares one).
  unsigned connections = 16;
  // direct=: writes to each object's first owner, reads the sheep holds
  // no copy of from an owner (docs/PROTOCOL.md §7.8).
  bool direct = true;
};

extern Config cfg;

// nbdkit's .config and .config_complete.
int config(const char* key, const char* value);
int config_complete();

}  // namespace plugin_config

#define sheepdog_config_help                                                    \
  "[vdi=]NAME          The VDI to serve. Without it the NBD export name\n"      \
  "                    selects the VDI, and clients can list the VDIs.\n"      \
  "tag=TAG             Serve the snapshot with this tag (read-only).\n"         \
  "snapid=N            Serve the snapshot with this id (read-only).\n"          \
  "address=ADDR        Address of a sheep (default 127.0.0.1).\n"               \
  "port=PORT           Port of that sheep (default 7000).\n"                    \
  "socket=PATH         Connect to a sheep's unix socket instead of TCP.\n"   \
  "auth-key=FILE       The cluster key (default /etc/sheepdog/auth-key if it\n" \
  "                    exists), for sheep started with --auth-key.\n"         \
  "readonly=BOOL       Serve read-only, without taking the VDI's lock.\n"   \
  "lock=exclusive|shared  exclusive (default): refuse to start when another\n" \
  "                    writer holds the VDI. shared: write beside it, for a\n"  \
  "                    hand-over such as a live migration.\n"                   \
  "local-read=BOOL     With socket=, read that sheep's object files directly\n" \
  "                    when its read lease allows (default true).\n"          \
  "connections=N       Spread reads over up to N connections to the sheep,\n" \
  "                    one per nbdkit thread (1..64, default 16).\n"          \
  "direct=BOOL         Send writes to the first owner of each object, and\n" \
  "                    reads the sheep holds no copy of to an owner, over TCP\n" \
  "                    to each node (default true); false: all through the\n" \
  "                    one sheep."

