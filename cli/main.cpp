// dog's entry point: command dispatch, global usage, per-subcommand option
// parsing (getopt_long over that subcommand's letters only), the global
// options -a -p -h -r -v -T and the SHEEPDOG_DOG_ADDR / SHEEPDOG_DOG_PORT
// environment variables, then the NEED_NODELIST / NEED_ARG checks in
// upstream's order and the run itself.
#include <arpa/inet.h>
#include <getopt.h>
#include <netdb.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "client/auth_handshake.h"
#include "dog.h"
#include "size.h"

#ifndef SD_VERSION
#define SD_VERSION "unknown"
#endif

namespace dog {
namespace {

constexpr char kDefaultKeyFile[] = "/etc/sheepdog/auth-key";

const Command* const kCommands[] = {&kVdiCommand, &kNodeCommand, &kClusterCommand};

void print_global_usage() {
  std::printf("Sheepdog administrator utility (version %s)\n", SD_VERSION);
  std::printf("Usage: dog <command> <subcommand> [options]\n\n");
  std::printf("Available commands:\n");
  for (const Command* c : kCommands) {
    for (size_t i = 0; i < c->nr_subs; i++) {
      std::string name = std::string(c->name) + " " + c->subs[i].name;
      std::printf("  %-24s%s\n", name.c_str(), c->subs[i].desc);
    }
  }
  std::printf("\n");
  std::printf("For more information, run 'dog <command> <subcommand> --help'.\n");
}

void print_subcommand_list(const Command& c) {
  std::string text = std::string("Available ") + c.name + " commands:\n";
  for (size_t i = 0; i < c.nr_subs; i++)
    text += std::string("  ") + c.name + " " + c.subs[i].name + "\n";
  text.pop_back();  // err() adds the final newline
  err("%s", text.c_str());
}

// -a / SHEEPDOG_DOG_ADDR: an IP literal or a resolvable name, kept as a
// numeric literal so messages print the address as upstream does.
bool set_address(Context& ctx, const char* text) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, text, buf) == 1 || inet_pton(AF_INET6, text, buf) == 1) {
    ctx.ep.host = text;
    return true;
  }
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  if (getaddrinfo(text, nullptr, &hints, &res) != 0 || !res) {
    err("Invalid ip address %s", text);
    return false;
  }
  char host[NI_MAXHOST];
  bool ok = getnameinfo(res->ai_addr, res->ai_addrlen, host, sizeof(host), nullptr, 0,
                        NI_NUMERICHOST) == 0;
  freeaddrinfo(res);
  if (!ok) {
    err("Invalid ip address %s", text);
    return false;
  }
  ctx.ep.host = host;
  return true;
}

bool set_port(Context& ctx, const char* text) {
  uint64_t port = 0;
  if (!sd::parse_u64(text, 65535, &port) || port == 0) {
    err("Invalid port number '%s'", text);
    return false;
  }
  ctx.ep.port = uint16_t(port);
  return true;
}

double now_seconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

int run(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "--help")) {
    print_global_usage();
    return kExitSuccess;
  }

  Context ctx;
  for (const Command* c : kCommands)
    if (!std::strcmp(c->name, argv[1])) ctx.cmd = c;
  if (!ctx.cmd) {
    err("Invalid command '%s'", argv[1]);
    err("Try 'dog --help' for more information.");
    return kExitUsage;
  }
  if (argc < 3) {
    print_subcommand_list(*ctx.cmd);
    return kExitUsage;
  }
  for (size_t i = 0; i < ctx.cmd->nr_subs; i++)
    if (!std::strcmp(ctx.cmd->subs[i].name, argv[2])) ctx.sub = &ctx.cmd->subs[i];
  if (!ctx.sub) {
    // (Asking for help is no invalid command: upstream lists quietly.)
    if (std::strcmp(argv[2], "-h") && std::strcmp(argv[2], "--help"))
      err("Invalid command '%s %s'", argv[1], argv[2]);
    print_subcommand_list(*ctx.cmd);
    return kExitUsage;
  }

  if (const char* a = std::getenv("SHEEPDOG_DOG_ADDR"))
    if (!set_address(ctx, a)) return kExitFailure;
  if (const char* p = std::getenv("SHEEPDOG_DOG_PORT"))
    if (!set_port(ctx, p)) return kExitUsage;

  // The cluster key: --auth-key FILE, else $SHEEPDOG_AUTH_KEY, else
  // /etc/sheepdog/auth-key when it exists.
  const char* key_file = std::getenv("SHEEPDOG_AUTH_KEY");
  if (!key_file && access(kDefaultKeyFile, F_OK) == 0) key_file = kDefaultKeyFile;

  // getopt_long over this subcommand's letters only.
  std::string optstring;
  std::vector<option> longopts;
  for (const char* l = ctx.sub->opts; *l; l++) {
    const OptionDesc* o = find_option(*ctx.cmd, *l);
    if (!o) continue;
    optstring += o->letter;
    if (o->has_arg) optstring += ':';
    longopts.push_back({o->long_name, o->has_arg ? required_argument : no_argument, nullptr,
                        o->letter});
  }
  constexpr int kAuthKeyOpt = 1000;  // long only, on every subcommand
  longopts.push_back({"auth-key", required_argument, nullptr, kAuthKeyOpt});
  longopts.push_back({nullptr, 0, nullptr, 0});

  bool timing = false;
  optind = 3;
  opterr = 1;
  int ch;
  while ((ch = getopt_long(argc, argv, optstring.c_str(), longopts.data(), nullptr)) != -1) {
    switch (ch) {
      case 'a':
        if (!set_address(ctx, optarg)) return kExitFailure;
        break;
      case 'p':
        if (!set_port(ctx, optarg)) return kExitUsage;
        break;
      case 'h':
        print_subcommand_usage(ctx);
        return kExitSuccess;
      case 'r':
        ctx.raw = true;
        break;
      case 'v':
        ctx.verbose = true;
        break;
      case 'T':
        timing = true;
        break;
      case kAuthKeyOpt:
        key_file = optarg;
        break;
      case '?':
        err("Try 'dog --help' for more information.");
        return kExitUsage;
      default:
        if (ctx.cmd->parse) {
          int rc = ctx.cmd->parse(ch, optarg);
          if (rc != kExitSuccess) return rc;
        }
        break;
    }
  }
  for (int i = optind; i < argc; i++) ctx.args.push_back(argv[i]);
  if (key_file) {
    sd::ClusterKey key;
    std::string why;
    if (!sd::ClusterKey::load(key_file, &key, &why)) {
      err("cannot read the cluster key %s: %s", key_file, why.c_str());
      return kExitFailure;
    }
    sd::set_client_key(key);
  }

  if (ctx.sub->flags & kNeedNodelist) {
    int rc = fetch_node_list(ctx);
    if (rc != kExitSuccess) return rc;
  }
  if ((ctx.sub->flags & kNeedArg) && ctx.args.empty()) {
    print_subcommand_usage(ctx);
    return kExitUsage;
  }

  double start = now_seconds();
  int rc = ctx.sub->run(ctx);
  if (rc == kExitUsage) print_subcommand_usage(ctx);
  if (rc == kExitUsageQuiet) rc = kExitUsage;
  if (timing) std::printf("\nElapsed time: %.3lf seconds\n", now_seconds() - start);
  return rc;
}

}  // namespace

int run_nested(Context& ctx) {
  const Subcommand* nested = nullptr;
  if (!ctx.args.empty())
    for (size_t i = 0; i < ctx.sub->nr_nested; i++)
      if (ctx.args[0] == ctx.sub->nested[i].name) nested = &ctx.sub->nested[i];
  if (!nested) {
    print_subcommand_usage(ctx);
    return kExitFailure;
  }
  ctx.args.erase(ctx.args.begin());
  if ((nested->flags & kNeedNodelist) && ctx.nodes.empty()) {
    int rc = fetch_node_list(ctx);
    if (rc != kExitSuccess) return rc;
  }
  if ((nested->flags & kNeedArg) && ctx.args.empty()) return kExitUsage;
  return nested->run(ctx);
}

}  // namespace dog

int main(int argc, char** argv) { return dog::run(argc, argv); }
