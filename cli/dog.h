// dog: shared declarations for the admin CLI.
//
// Owns the command-table types every command group fills in, the per-run
// Context (global options, positional arguments, the node list fetched by
// the bootstrap), exit codes, and the small output helpers that keep dog's
// streams as upstream has them: normal output through stdio on stdout
// (fully buffered when not a tty), diagnostics as single unbuffered writes
// of "message\n" on stderr.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client/sheep_client.h"
#include "net.h"
#include "proto/node.h"
#include "proto/wire.h"
#include "result.h"

namespace dog {

// Exit codes (docs/CLI.md §2.1).
enum Exit : int {
  kExitSuccess = 0,
  kExitFailure = 1,
  kExitSysfail = 2,
  kExitExists = 3,
  kExitFull = 4,
  kExitMissing = 5,
  kExitUsage = 64,
  // What a command returns for kExitUsage when its own message says it
  // all: dog exits 64 without printing the usage (as upstream's exit()).
  kExitUsageQuiet = 1064,
};

// One diagnostic line on stderr: the formatted message plus "\n", written
// with a single write(2) so it never interleaves or waits for stdout.
void err(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// A confirmation prompt: text to stdout (no newline, no flush), then one
// line from stdin. Anything not starting with "yes" (any case) exits 0.
void confirm(const char* text);
// The two-line "Caution!" prompt with the dog drawing, then confirm().
void confirm_caution(const char* first_line, const char* second_line);

// ---------------------------------------------------------------------
// Command tables.

// An option letter with its long name (also the argument name shown in
// usage: "[-c copies]") and its help text.
struct OptionDesc {
  char letter;
  const char* long_name;
  bool has_arg;
  const char* desc;
};

enum SubcommandFlag : unsigned {
  kNeedNodelist = 1u << 0,  // fetch the node list before running
  kNeedArg = 1u << 1,       // at least one positional argument
};

struct Context;

struct Subcommand {
  const char* name;
  const char* args;  // positional usage text, or nullptr
  const char* opts;  // option letters in usage order, e.g. "PycaphrvzT"
  const char* desc;
  unsigned flags;
  int (*run)(Context& ctx);
  // Nested subcommands ("vdi object location"), chosen by run_nested()
  // from the first positional argument; their opts and args are unused
  // (the parent's option letters apply), their flags are honoured.
  const Subcommand* nested = nullptr;
  size_t nr_nested = 0;
};

struct Command {
  const char* name;
  const Subcommand* subs;
  size_t nr_subs;
  const OptionDesc* options;  // group-specific options, terminated by letter 0
  // Handles a group-specific option letter. Returns kExitSuccess to go
  // on, or an exit code after printing the error.
  int (*parse)(int ch, const char* arg);
};

// `dog cluster snapshot save|list|load|show` (cluster_snapshot.cpp).
extern const Subcommand kClusterSnapshotSubs[];
extern const size_t kNrClusterSnapshotSubs;
// `dog cluster scrub start|stop|status` (cluster_scrub.cpp).
extern const Subcommand kClusterScrubSubs[];
extern const size_t kNrClusterScrubSubs;
// -m: cluster snapshot save reads objects with several threads.
void cluster_snapshot_use_threads();

// `dog node md info|plug|unplug` and `dog node vnodes set` (node_md.cpp),
// and the node options they read (-A, -f).
extern const Subcommand kNodeMdSubs[];
extern const size_t kNrNodeMdSubs;
extern const Subcommand kNodeVnodesSubs[];
extern const size_t kNrNodeVnodesSubs;
bool node_all_option();
bool node_force_option();

extern const Command kVdiCommand;
extern const Command kNodeCommand;
extern const Command kClusterCommand;

// ---------------------------------------------------------------------
// Per-run state.

struct Context {
  sd::Endpoint ep;  // -a / -p / SHEEPDOG_DOG_ADDR / SHEEPDOG_DOG_PORT
  bool raw = false;
  bool verbose = false;
  std::vector<std::string> args;  // positional arguments after options

  // Filled by the NEED_NODELIST bootstrap (connection.cpp).
  std::vector<sd::SdNode> nodes;  // in node order
  uint32_t epoch = 0;             // rsp.epoch of the bootstrap STAT_CLUSTER
  uint16_t cluster_flags = 0;     // flags of the bootstrap epoch_log record

  const Command* cmd = nullptr;
  const Subcommand* sub = nullptr;
};

// ---------------------------------------------------------------------
// Talking to sheep (connection.cpp).

// The endpoint dog uses to reach a node: its io address when it has one.
sd::Endpoint node_endpoint(const sd::SdNode& n);

// A cached connection to ep. On failure prints "failed to connect to
// %s:%d: %m" twice (one line per attempt, as upstream's fd cache retries)
// and returns nullptr; a later call tries again.
sd::SheepClient* client_for(const sd::Endpoint& ep);

// Sends one request to ep. The error Result (Res::Eio) means it could not
// be delivered (already reported); otherwise the reply header is returned
// and the server's verdict is in its result field.
sd::Result<sd::SdRsp> request(const sd::Endpoint& ep, const sd::SdReq& req, const void* wbuf,
                              void* rbuf);

// The NEED_NODELIST bootstrap: GET_NODE_LIST, then STAT_CLUSTER with no
// node slots for the epoch. Prints upstream's messages and returns an exit
// code (kExitSuccess on success).
int fetch_node_list(Context& ctx);

// ---------------------------------------------------------------------
// Shared option parsing helpers (options.cpp).

// -c: "N" (1..31) or "D:P" (D in {2,4,8,16}, P in 1..15). Prints upstream's
// message and returns false when invalid.
bool parse_copies(const char* text, uint8_t* copies, uint8_t* copy_policy);
// "N" or "D:P" for display.
std::string copies_str(uint8_t nr_copies, uint8_t copy_policy);
// -z: 20..31 with upstream's messages.
bool parse_block_size_shift(const char* text, uint8_t* shift);
// -s: a positive integer is a snapshot id, anything else a tag.
bool parse_snapshot(const char* text, uint32_t* snapid, std::string* tag);
// "Invalid size '%s'" + the suffix hint, as one message.
void report_invalid_size(const char* text);

// The description of option letter ch for a command group: its own table
// first, then the options every group shares (-a -p -h -r -v -T).
const OptionDesc* find_option(const Command& cmd, char ch);

// Usage of the current subcommand on stdout (docs/CLI.md §2.6).
void print_subcommand_usage(const Context& ctx);
// The first steps of `vdi alter-copy` and `cluster alter-copy`, as
// upstream's dog takes them: an erasure-coded -c is refused with the usage;
// no -c means 3, said on stdout ("The <what>'s redundancy level is not
// specified, ..."); more copies than nodes asks first unless forced.
// kExitSuccess with *copies set, else the exit code.
int alter_copy_count(const Context& ctx, uint8_t requested, uint8_t copy_policy, bool force,
                     const char* what, uint8_t* copies);

// Runs the nested subcommand named by ctx.args[0] (which it removes),
// after its NEED_NODELIST / NEED_ARG checks. An unknown or missing name
// prints the usage and returns kExitFailure, as upstream does.
int run_nested(Context& ctx);

// Sends a request without payload or reply data to ep. A server error is
// printed as "Response's result: %s". Returns false on any failure.
bool send_light(const sd::Endpoint& ep, const sd::SdReq& req);

}  // namespace dog
