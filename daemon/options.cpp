// sheep option parsing.
#include "options.h"

#include <getopt.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/log.h"
#include "metrics_endpoint.h"
#include "proto/node.h"
#include "size.h"
#include "store/object_store.h"

namespace sd {

namespace {

const char kDrivers[] = "local"
#ifdef SD_HAVE_COROSYNC
                        " corosync"
#endif
#ifdef SD_HAVE_ZOOKEEPER
                        " zookeeper"
#endif
    ;

struct OptHelp {
  char letter;
  const char* name;
  bool has_arg;
  const char* desc;
  const char* detail;  // printed for "sheep -X" without its argument
};

const OptHelp kOpts[] = {
    {'b', "bindaddr", true, "specify IP address of interface to listen on",
     "Example:\n\t$ sheep -b 192.168.1.1 ...\nThis tries to bind the listening socket to 192.168.1.1.\n"},
    {'c', "cluster", true, "specify the cluster driver (default: corosync)",
     "Available arguments:\n\tcorosync: use corosync's CPG (the default; sheep exits if "
     "corosync does not answer)\n"
     "\tlocal: use local driver (sheep on one machine; directory /run/sheepdog/local, or "
     "$XDG_RUNTIME_DIR/sheepdog/local)\n"
     "\tlocal:PATH: use a membership directory of your choice (this user's, mode 0700)\n"
     "\tzookeeper:HOST:PORT[,HOST:PORT...][/CLUSTER][,timeout=MS]: use a ZooKeeper ensemble\n"
     "\t  (session timeout in milliseconds, default 3000)\n"},
    {'D', "directio", false, "accepted and ignored: writes are made durable with fdatasync",
     nullptr},
    {'f', "foreground", false, "make the program run in foreground", nullptr},
    {'g', "gateway", false, "make the program run as a gateway mode", nullptr},
    {'h', "help", false, "display this help and exit", nullptr},
    {'i', "ioaddr", true, "use separate network card to handle IO requests (default: disabled)",
     "Example:\n\t$ sheep -i host=192.168.1.1,port=7002 ...\nThis tries to use 192.168.1.1:7002 "
     "for the I/O between sheep.\n"},
    {'l', "log", true,
     "specify the log level, the log directory and the log format(log level default: 6 "
     "[SDOG_INFO])",
     "Example:\n\t$ sheep -l dir=/var/log/,level=debug,format=server ...\nAvailable log "
     "levels:\n  emerg alert crit err warning notice info debug\n"},
    {'n', "nosync", false, "drop O_SYNC for write of backend", nullptr},
    {'p', "port", true, "specify the TCP port on which to listen (default: 7000)", nullptr},
    {'P', "pidfile", true, "create a pid file", nullptr},
    {'R', "recovery", true, "specify the recovery speed throttling",
     "Example:\n\t$ sheep -R max=100,interval=1000 ...\n"},
    {'u', "upgrade", false, "upgrade to the latest data layout", nullptr},
    {'v', "version", false, "show the version", nullptr},
    {'V', "vnodes", true, "set number of vnodes",
     "Example:\n\t$ sheep -V 128 ...\nThis fixes the number of vnodes of this sheep at 128.\n"},
    {'y', "myaddr", true, "specify the address advertised to other sheep",
     "Example:\n\t$ sheep -y 192.168.1.1 ...\n"},
    {'z', "zone", true, "specify the zone id (default: determined by listen address)",
     "Example:\n\t$ sheep -z 1 ...\nThis sets the zone id of this sheep to 1.\n"},
};

void print_usage() {
  std::printf("Sheepdog daemon (version %s)\n", SD_VERSION);
  std::printf("Usage: sheep [OPTION]... [PATH] (default: /tmp)\nOptions:\n");
  for (const auto& o : kOpts) std::printf("  -%c, --%-18s%s\n", o.letter, o.name, o.desc);
  std::printf("      --%-18s%s\n", "auth-key FILE",
              "require the cluster key in FILE on every TCP connection (default: none)");
  std::printf("      --%-18s%s\n", "tcp-timeout SECS",
              "drop a TCP client or peer that stops answering after about SECS "
              "(keepalive and TCP_USER_TIMEOUT; default: 30, 0: never)");
  std::printf("      --%-18s%s\n", "metrics PORT",
              "serve Prometheus metrics over HTTP on [ADDR:]PORT, at /metrics (ADDR: "
              "127.0.0.1 unless given; IPv6 as [ADDR]:PORT; default: off)");
  std::printf("\nTry 'sheep <option>', e.g., 'sheep -z', to get more detail about specific "
              "option\n");
}

void print_version() {
  std::printf("Sheepdog daemon version %s\n\nSupported features:\n\tCluster drivers: %s\n"
              "\tMiscellaneous: none\n",
              SD_VERSION, kDrivers);
}

// Splits "a=1,b=2" into pairs; false on a malformed element.
bool parse_kv(const std::string& text, std::vector<std::pair<std::string, std::string>>* out) {
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t eq = item.find('=');
    if (eq == std::string::npos)
      out->push_back({item, ""});
    else
      out->push_back({item.substr(0, eq), item.substr(eq + 1)});
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return true;
}

// --metrics: "PORT", "ADDR:PORT" or "[ADDR]:PORT" (IPv6), ADDR a literal
// address; *addr is left empty when none is given.
bool parse_metrics_option(const std::string& text, std::string* addr, uint16_t* port) {
  std::string host, port_text = text;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find("]:");
    if (close == std::string::npos) return false;
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
    if (host.find(':') == std::string::npos) return false;  // brackets are for IPv6
  } else if (size_t colon = text.find(':'); colon != std::string::npos) {
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.empty() || port_text.find(':') != std::string::npos) return false;
  }
  uint8_t raw[16];
  if (!host.empty() && !parse_addr(host.c_str(), raw)) return false;
  uint64_t v;
  if (!parse_u64(port_text.c_str(), 65535, &v) || v < 1) return false;
  *addr = host;
  *port = uint16_t(v);
  return true;
}

// Whether listeners on addresses a and b (literals; empty: every
// interface) may take the same port: false when they could clash, that
// is when one is a wildcard (0.0.0.0 or ::, which takes IPv4 too) or both
// name the same address (an IPv4 address and its IPv4-mapped IPv6 form
// alike).
bool distinct_listen_addrs(const std::string& a, const std::string& b) {
  // The address as parse_addr stores it, an IPv4-mapped one as IPv4; false
  // for none or a wildcard.
  auto specific = [](const std::string& text, std::array<uint8_t, 16>* raw) {
    if (text.empty() || !parse_addr(text.c_str(), raw->data())) return false;
    constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), raw->begin()))
      (*raw)[10] = (*raw)[11] = 0;
    return *raw != std::array<uint8_t, 16>{};
  };
  std::array<uint8_t, 16> ra, rb;
  return specific(a, &ra) && specific(b, &rb) && ra != rb;
}

}  // namespace

int parse_sheep_options(int argc, char** argv, SheepOptions* o) {
  std::string shortopts = ":";
  std::vector<option> longopts;
  for (const auto& h : kOpts) {
    shortopts += h.letter;
    if (h.has_arg) shortopts += ':';
    longopts.push_back({h.name, h.has_arg ? required_argument : no_argument, nullptr, h.letter});
  }
  constexpr int kAuthKeyOpt = 1000;  // long only: upstream has no such option
  constexpr int kTcpTimeoutOpt = 1001;
  constexpr int kMetricsOpt = 1002;
  longopts.push_back({"auth-key", required_argument, nullptr, kAuthKeyOpt});
  longopts.push_back({"tcp-timeout", required_argument, nullptr, kTcpTimeoutOpt});
  longopts.push_back({"metrics", required_argument, nullptr, kMetricsOpt});
  longopts.push_back({nullptr, 0, nullptr, 0});
  opterr = 0;
  int ch;
  while ((ch = getopt_long(argc, argv, shortopts.c_str(), longopts.data(), nullptr)) != -1) {
    uint64_t v;
    switch (ch) {
      case 'b': {
        uint8_t addr[16];
        if (!parse_addr(optarg, addr)) {
          std::fprintf(stderr, "Bad address '%s'\n", optarg);
          return 1;
        }
        o->bind_addr = optarg;
        break;
      }
      case 'c': {
        std::string s = optarg;
        size_t colon = s.find(':');
        std::string name = s.substr(0, colon);
        bool known = name == "local";
#ifdef SD_HAVE_COROSYNC
        known |= name == "corosync";
#endif
#ifdef SD_HAVE_ZOOKEEPER
        known |= name == "zookeeper";
#endif
        if (!known) {
          std::fprintf(stderr, "Invalid cluster driver '%s'\n", name.c_str());
          std::fprintf(stderr, "\nSupported features:\n\tCluster drivers: %s\n", kDrivers);
          return 1;
        }
        o->cluster = name;
        if (colon != std::string::npos) o->cluster_opts = s.substr(colon + 1);
        break;
      }
      case 'D': o->directio = true; break;
      case 'f': o->foreground = true; break;
      case 'g': o->gateway = true; break;
      case 'h': print_usage(); return 0;
      case 'l': {
        std::vector<std::pair<std::string, std::string>> kv;
        parse_kv(optarg, &kv);
        for (auto& [k, val] : kv) {
          if (k == "level") {
            log::Level l;
            if (!log::parse_level(val, &l)) {
              std::fprintf(stderr, "Invalid log level '%s'\n", val.c_str());
              std::fprintf(stderr, "Available log levels:\n  emerg alert crit err warning notice info debug\n");
              return 1;
            }
            o->log_level = l;
          } else if (k == "dir") {
            o->log_dir = val;
          } else if (k == "dst") {
            if (val == "stdout") {
              o->log_stdout = true;
              o->foreground = true;
            } else if (val != "default") {
              std::fprintf(stderr, "invalid type of log destination: %s\n", val.c_str());
              return 1;
            }
          } else if (k == "format") {
            // Only the server format is produced.
          } else {
            std::fprintf(stderr, "invalid option %s\n", k.c_str());
            return 1;
          }
        }
        break;
      }
      case 'i': {
        std::vector<std::pair<std::string, std::string>> kv;
        parse_kv(optarg, &kv);
        o->io_port = 7000;
        for (auto& [k, val] : kv) {
          if (k == "host") {
            uint8_t addr[16];
            if (!parse_addr(val.c_str(), addr)) {
              std::fprintf(stderr, "Bad addr: '%s'\n", val.c_str());
              return 1;
            }
            o->io_addr = val;
          } else if (k == "port") {
            if (!parse_u64(val.c_str(), 65535, &v) || v < 1) {
              std::fprintf(stderr, "Bad port '%s'\n", val.c_str());
              return 1;
            }
            o->io_port = uint16_t(v);
          } else {
            std::fprintf(stderr, "invalid option %s\n", k.c_str());
            return 1;
          }
        }
        if (o->io_addr.empty()) {
          std::fprintf(stderr, "Bad addr: '%s'\n", optarg);
          return 1;
        }
        break;
      }
      case kAuthKeyOpt: o->auth_key_file = optarg; break;
      case kTcpTimeoutOpt:
        if (!parse_u64(optarg, 3600, &v)) {
          std::fprintf(stderr, "Invalid TCP timeout '%s': must be a number of seconds between 0 "
                               "and 3600\n", optarg);
          return 1;
        }
        o->tcp_timeout = unsigned(v);
        break;
      case kMetricsOpt:
        if (!metrics_endpoint_available()) {
          std::fprintf(stderr, "--metrics is not available: this sheep was built without "
                               "libmicrohttpd\n");
          return 1;
        }
        if (!parse_metrics_option(optarg, &o->metrics_addr, &o->metrics_port)) {
          std::fprintf(stderr, "Invalid metrics address '%s': expected [ADDR:]PORT, e.g. 9100, "
                               "127.0.0.1:9100 or [::1]:9100\n", optarg);
          return 1;
        }
        o->metrics = true;
        break;
      case 'n': o->nosync = true; break;
      case 'p':
        if (!parse_u64(optarg, 65535, &v) || v < 1) {
          std::fprintf(stderr, "Invalid port number '%s'\n", optarg);
          return 1;
        }
        o->port = uint16_t(v);
        break;
      case 'P': o->pidfile = optarg; break;
      case 'R': {
        std::vector<std::pair<std::string, std::string>> kv;
        parse_kv(optarg, &kv);
        for (auto& [k, val] : kv) {
          uint64_t n;
          if (!parse_u64(val.c_str(), UINT32_MAX, &n) || (k != "max" && k != "interval")) {
            std::fprintf(stderr, "invalid option %s\n", (k + "=" + val).c_str());
            return 1;
          }
          if (k == "max") o->recovery_max = uint32_t(n);
          else o->recovery_interval = n;
        }
        break;
      }
      case 'u': o->upgrade = true; break;
      case 'v': print_version(); return 0;
      case 'V':
        if (!parse_u64(optarg, 65535, &v) || v < 1) {
          std::fprintf(stderr, "Invalid number of vnodes '%s': must be an integer between 1 and 65535\n", optarg);
          return 1;
        }
        o->vnodes = int(v);
        break;
      case 'y': {
        uint8_t addr[16];
        if (!parse_addr(optarg, addr)) {
          std::fprintf(stderr, "Invalid address: '%s'\n", optarg);
          return 1;
        }
        o->myaddr = optarg;
        break;
      }
      case 'z':
        if (!parse_u64(optarg, UINT32_MAX, &v)) {
          std::fprintf(stderr, "Invalid zone id '%s': must be an integer between 0 and 4294967295\n", optarg);
          return 1;
        }
        o->zone = uint32_t(v);
        o->zone_set = true;
        break;
      case ':':
      case '?':
      default: {
        for (const auto& h : kOpts) {
          if (h.letter == optopt && h.detail) {
            std::printf("%s", h.detail);
            return 1;
          }
        }
        if (ch == ':' && optopt == kAuthKeyOpt)
          std::fprintf(stderr, "sheep: option '--auth-key' requires an argument\n");
        else if (ch == ':' && optopt == kTcpTimeoutOpt)
          std::fprintf(stderr, "sheep: option '--tcp-timeout' requires an argument\n");
        else if (ch == ':' && optopt == kMetricsOpt)
          std::fprintf(stderr, "sheep: option '--metrics' requires an argument\n");
        else if (ch == ':')
          std::fprintf(stderr, "sheep: option requires an argument -- '%c'\n", optopt);
        else if (optopt)
          std::fprintf(stderr, "sheep: invalid option -- '%c'\n", optopt);
        else
          std::fprintf(stderr, "sheep: unrecognized option '%s'\n", argv[optind - 1]);
        std::fprintf(stderr, "Try 'sheep --help' for more information.\n");
        return 1;
      }
    }
  }
  // The endpoint has no authentication: this host only, unless an address
  // is named (whatever -b says).
  if (o->metrics && o->metrics_addr.empty()) o->metrics_addr = "127.0.0.1";
  // Nor may it take the sheep's own ports: it binds first (before the
  // sheep daemonizes), and the sheep would then fail to listen after
  // having reported success.
  if (o->metrics) {
    struct OwnPort {
      const char* option;
      const std::string& addr;
      uint16_t port;
    };
    // (io_port is 0 without -i: never the metrics port.)
    const OwnPort own[] = {{"-p", o->bind_addr, o->port}, {"-i", o->io_addr, o->io_port}};
    for (const OwnPort& p : own) {
      if (p.port != o->metrics_port || distinct_listen_addrs(p.addr, o->metrics_addr)) continue;
      std::fprintf(stderr, "Invalid metrics port %u: the sheep itself listens on it (%s)\n",
                   unsigned(o->metrics_port), p.option);
      return 1;
    }
  }
  if (o->gateway && o->vnodes) {
    std::fprintf(stderr, "Options '-g' and '-V' can not be both specified\n");
    return 1;
  }
  if (optind < argc) {
    // META[,DISK...] (docs/CLI.md §1.4).
    std::string path = argv[optind];
    std::vector<std::string> parts = ObjectStore::split_paths(path);
    if (parts.empty()) {
      std::fprintf(stderr, "Invalid path '%s'\n", path.c_str());
      return 1;
    }
    o->dir = parts[0];
    o->disks.assign(parts.begin() + 1, parts.end());
  }
  return -1;
}

}  // namespace sd
