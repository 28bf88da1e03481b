// sheep: the storage daemon. Parses the command line, locks the data
// directory, daemonizes as upstream does (the command's exit status reports
// only option parsing and locking), then runs the event loop until shutdown.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sched.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "base/file_util.h"
#include "base/log.h"
#include "client/auth_handshake.h"
#include "metrics_endpoint.h"
#include "metrics_page.h"
#include "ops/ops.h"
#include "options.h"
#include "server/server.h"
#include "sheep.h"

using namespace sd;

namespace {

// Upstream prints start-up errors in its server format on stderr.
void early_error(const char* func, int line, const char* fmt, const char* arg) {
  char ts[32];
  time_t now = time(nullptr);
  struct tm tm;
  localtime_r(&now, &tm);
  strftime(ts, sizeof(ts), "%b %2d %H:%M:%S ", &tm);
  char msg[1024];
  std::snprintf(msg, sizeof(msg), fmt, arg);
  std::fprintf(stderr, "%s%6s [main] %s(%d) %s\n", ts, "ERROR", func, line, msg);
}

// Object files stay open (the store's descriptor cache), so take the hard
// limit on open files rather than the usual soft 1024.
void raise_open_file_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int g_status_pipe = -1;

// Under systemd (Type=notify, NOTIFY_SOCKET set) the service manager hears
// READY=1 once the sheep serves requests and STOPPING=1 when it shuts down;
// without systemd this does nothing.
void notify_service_manager(const char* state) { sd_notify(0, state); }

void report_status(int status) {
  if (g_status_pipe < 0) return;
  ssize_t rc = write(g_status_pipe, &status, sizeof(status));
  (void)rc;
  close(g_status_pipe);
  g_status_pipe = -1;
}

// SCHED_BATCH for the whole process (every thread is made after this and
// inherits it), unless whoever started us chose a policy (chrt,
// CPUSchedulingPolicy=). A batch thread that wakes never preempts the
// thread running on its CPU: a worker that sends to a peer or to a client
// is no longer switched out at once for the thread its send woke, and goes
// on until it blocks. Measured on the remote path (3 sheep, 3 copies, 4 KiB
// random writes at QD32): 8.2 -> 6.3 context switches per write in the
// gateway's workers and 20-30 % more writes a second; reads and QD1
// latency unchanged (docs/PERFORMANCE.md). It needs no privilege.
void use_batch_scheduling() {
  if (sched_getscheduler(0) != SCHED_OTHER) return;
  sched_param none{};
  if (sched_setscheduler(0, SCHED_BATCH, &none) != 0)
    sd_warn("cannot use SCHED_BATCH: %s", std::strerror(errno));
}

// Forks twice; the original process waits for the daemon's status.
void daemonize() {
  int fds[2];
  if (pipe(fds) < 0) {
    std::perror("pipe");
    std::exit(1);
  }
  pid_t pid = fork();
  if (pid < 0) {
    std::perror("fork");
    std::exit(1);
  }
  if (pid > 0) {
    close(fds[1]);
    int status = 1;
    ssize_t n = read(fds[0], &status, sizeof(status));
    _exit(n == sizeof(status) ? status : 1);
  }
  close(fds[0]);
  setsid();
  pid = fork();
  if (pid < 0) _exit(1);
  if (pid > 0) _exit(0);
  g_status_pipe = fds[1];
  if (chdir("/") < 0) _exit(1);
}

// The data directory: 0700 (an existing one is tightened, unless it is a
// shared directory such as /tmp, with the sticky bit; obj/ is always
// private). Returns what was done, for the log.
std::string make_private(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) < 0 || st.st_uid != geteuid() || (st.st_mode & S_ISVTX)) return {};
  if (!(st.st_mode & 077) || chmod(dir.c_str(), st.st_mode & 07700) < 0) return {};
  char msg[256];
  std::snprintf(msg, sizeof(msg), "%s: mode %04o tightened to %04o (it holds every VDI's data)",
                dir.c_str(), unsigned(st.st_mode & 07777), unsigned(st.st_mode & 07700));
  return msg;
}

bool lock_dir(const std::string& dir) {
  std::string path = dir + "/lock";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    early_error("lock_base_dir", __LINE__, "failed to open lock file %s", path.c_str());
    return false;
  }
  if (lockf(fd, F_TLOCK, 1) < 0) {
    if (errno == EACCES || errno == EAGAIN)
      early_error("lock_base_dir", __LINE__, "another sheep daemon is using %s", dir.c_str());
    else
      early_error("lock_base_dir", __LINE__, "locking directory: %s failed", dir.c_str());
    close(fd);
    return false;
  }
  return true;  // held until the process exits
}

bool write_pidfile(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || lockf(fd, F_TLOCK, 0) < 0 || ftruncate(fd, 0) < 0) {
    std::fprintf(stderr, "failed to pid file '%s' - %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  std::string s = std::to_string(getpid()) + "\n";
  return write(fd, s.data(), s.size()) == ssize_t(s.size());
}

// stdin and stdout go to /dev/null; stderr goes to the log file, so that
// anything a library or a sanitizer prints there is kept.
void redirect_stdio(const std::string& log_path) {
  int fd = open("/dev/null", O_RDWR);
  if (fd < 0) return;
  dup2(fd, 0);
  dup2(fd, 1);
  int lfd = log_path.empty() ? -1 : open(log_path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  dup2(lfd >= 0 ? lfd : fd, 2);
  if (lfd >= 0) close(lfd);
  if (fd > 2) close(fd);
}

// Logs any other signal that would end the process silently, naming the
// sender, then lets it take effect (SIGHUP is only logged: the log file is
// opened in append mode, so rotation needs nothing more).
void on_fatal_signal(int sig, siginfo_t* si, void*) {
  char msg[128];
  int n = std::snprintf(msg, sizeof(msg), "sheep: received signal %d from pid %d\n", sig,
                        int(si ? si->si_pid : 0));
  sd::log::write_raw(msg, size_t(n));
  if (sig == SIGHUP) return;
  signal(sig, SIG_DFL);
  raise(sig);
}

void install_signal_handlers() {
  struct sigaction sa{};
  sa.sa_sigaction = on_fatal_signal;
  sa.sa_flags = SA_SIGINFO;
  for (int sig : {SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF})
    sigaction(sig, &sa, nullptr);
}

// "addr:port", IPv6 as "[addr]:port".
std::string endpoint_text(const std::string& addr, uint16_t port) {
  bool v6 = addr.find(':') != std::string::npos;
  return (v6 ? "[" + addr + "]" : addr) + ":" + std::to_string(port);
}

SdNode make_self(const SheepOptions& o) {
  SdNode n{};
  std::string addr = !o.myaddr.empty() ? o.myaddr : !o.bind_addr.empty() ? o.bind_addr : "127.0.0.1";
  parse_addr(addr.c_str(), n.nid.addr);
  n.nid.port = o.port;
  n.zone = o.zone_set ? o.zone : default_zone(n.nid.addr);
  n.nr_vnodes = o.gateway ? 0 : uint16_t(o.vnodes ? o.vnodes : kDefaultVnodes);
  if (!o.io_addr.empty()) {
    parse_addr(o.io_addr.c_str(), n.nid.io_addr);
    n.nid.io_port = o.io_port;
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  SheepOptions opts;
  int rc = parse_sheep_options(argc, argv, &opts);
  if (rc >= 0) return rc;

  // No -c: corosync, as upstream, when this sheep has it; never a silent
  // fall-back to a single-machine driver.
  if (opts.cluster.empty()) {
#ifdef SD_HAVE_COROSYNC
    if (!corosync_available()) {
      std::fprintf(stderr,
                   "cannot reach corosync, the default cluster driver: start corosync (see "
                   "README, \"Several hosts with corosync\"), or give -c local for sheep that "
                   "all run on this machine\n");
      return 1;
    }
    opts.cluster = "corosync";
#else
    opts.cluster = "local";
#endif
  }
#ifdef SD_HAVE_ZOOKEEPER
  if (opts.cluster == "zookeeper") {
    ZooKeeperOptions zk;
    std::string why;
    if (!parse_zookeeper_options(opts.cluster_opts, &zk, &why)) {
      std::fprintf(stderr, "%s\n", why.c_str());
      return 1;
    }
    if (!zookeeper_available(zk)) {
      std::fprintf(stderr, "cannot reach ZooKeeper at %s: start it, or name servers that answer\n",
                   zk.hosts.c_str());
      return 1;
    }
  }
#endif
  if (opts.cluster == "local") {
    if (opts.cluster_opts.empty()) opts.cluster_opts = default_local_dir();
    if (opts.cluster_opts.empty()) {
      std::fprintf(stderr, "the local cluster driver needs a directory: set XDG_RUNTIME_DIR, or "
                           "give -c local:DIR (a directory of this user's)\n");
      return 1;
    }
    // Whoever can write there can speak for every sheep of the cluster.
    std::string why;
    if (!prepare_local_dir(opts.cluster_opts, &why)) {
      std::fprintf(stderr, "refusing the local cluster driver's directory: %s\n", why.c_str());
      return 1;
    }
  }

  // The data directory holds every VDI's data: this user's alone.
  if (!make_dirs(opts.dir, 0700)) {
    std::fprintf(stderr, "cannot create directory %s: %s\n", opts.dir.c_str(), std::strerror(errno));
    return 1;
  }
  char real[PATH_MAX];
  if (!realpath(opts.dir.c_str(), real)) {
    std::fprintf(stderr, "cannot resolve %s: %s\n", opts.dir.c_str(), std::strerror(errno));
    return 1;
  }
  opts.dir = real;
  // Disks given relative to where sheep was started (it runs in /).
  for (std::string& d : opts.disks)
    if (d[0] != '/') {
      char cwd[PATH_MAX];
      if (getcwd(cwd, sizeof(cwd))) d = std::string(cwd) + "/" + d;
    }
  std::string tightened = make_private(opts.dir);
  make_dirs(opts.dir + "/epoch", 0700);

  ClusterKey key;
  if (!opts.auth_key_file.empty()) {
    std::string why;
    if (!ClusterKey::load(opts.auth_key_file, &key, &why)) {
      std::fprintf(stderr, "cannot read the cluster key %s: %s\n", opts.auth_key_file.c_str(),
                   why.c_str());
      return 1;
    }
  }
  // Our own connections to other sheep prove the key too.
  set_client_key(key);

  // The metrics port is taken now, so that a port in use fails the command.
  int metrics_fd = -1;
  if (opts.metrics) {
    std::string why;
    metrics_fd = open_metrics_socket(opts.metrics_addr, opts.metrics_port, &why);
    if (metrics_fd < 0) {
      std::fprintf(stderr, "cannot serve metrics on %s: %s\n",
                   endpoint_text(opts.metrics_addr, opts.metrics_port).c_str(), why.c_str());
      return 1;
    }
  }

  if (!opts.foreground) daemonize();
  if (!lock_dir(opts.dir)) {
    report_status(1);
    return 1;
  }
  if (!opts.pidfile.empty() && !write_pidfile(opts.pidfile)) {
    report_status(1);
    return 1;
  }

  std::string log_path;
  if (!opts.log_stdout) log_path = (opts.log_dir.empty() ? opts.dir : opts.log_dir) + "/sheep.log";
  if (!log::open(log_path, log::Level(opts.log_level))) {
    std::fprintf(stderr, "cannot open log file %s: %s\n", log_path.c_str(), std::strerror(errno));
    report_status(1);
    return 1;
  }
  if (!opts.foreground) redirect_stdio(log_path);

  // Signals are taken by the event loop's signalfd; block them everywhere.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  install_signal_handlers();
  raise_open_file_limit();
  use_batch_scheduling();

  if (!tightened.empty()) sd_info("%s", tightened.c_str());
  Sheep sheep(opts);
  sheep.self = make_self(opts);
  if (!sheep.store.init().ok()) {
    sd_err("cannot initialise the object store of %s", opts.dir.c_str());
    report_status(1);
    return 1;
  }
  // The layout the cluster was formatted with, before anything is read
  // (the group applies it again when it starts, formats or joins).
  if (auto cfg = sheep.config.load(); cfg.ok()) {
    const char* name = reinterpret_cast<const char*>(cfg->default_store);
    std::string store(name, strnlen(name, sizeof(cfg->default_store)));
    if (store == "tree" && !sheep.store.set_layout(StoreLayout::Tree).ok()) {
      sd_err("cannot make the tree store's directories in %s/obj", opts.dir.c_str());
      report_status(1);
      return 1;
    }
  }
  // The store is usable: whoever started us (the parent of a daemonized
  // sheep waits for this) hears success now, failures before it.
  report_status(0);
  sheep.audit.load();
  // Lock tokens revoked before a restart stay revoked (vdi_locks.h).
  sheep.locks.keep_revoked_in(opts.dir + "/obj/.lock-revocations");
  sheep.lease.set_audited(sheep.audit.audited());
  sheep.store.set_listener(&sheep);
  // Clients on this machine may read object files under the read lease
  // (those of a node with one disk: the reader knows one directory; with
  // more, the lease says "not serving" so that no reader trusts an old one).
  if (sheep.lease.open(opts.dir, sheep.self.nid, opts.disks.empty()))
    sheep.store.set_invalidation_hook([&sheep] { sheep.lease.invalidate(); });

  sheep.rebuild_vdi_table();
  OpRunner runner(sheep);
  Server server(runner, key, opts.tcp_timeout);
  if (key.empty())
    sd_info("authentication off (no --auth-key): anyone who reaches port %u can run every "
            "command; firewall it", unsigned(opts.port));
  else
    sd_info("authentication on: every TCP connection must prove the cluster key in %s",
            opts.auth_key_file.c_str());
  sheep.server = &server;
  // With a key, DIR/sock is the way in without one: root only, from the
  // moment it exists.
  mode_t old_mask = key.empty() ? 0 : umask(077);
  bool listening = server.listen(opts.bind_addr, opts.port, opts.dir + "/sock");
  if (!key.empty()) umask(old_mask);
  if (!listening) return 1;
  if (!key.empty()) chmod((opts.dir + "/sock").c_str(), 0600);
  if (!opts.io_addr.empty() && !server.listen_io(opts.io_addr, opts.io_port)) return 1;
  if (opts.cluster == "local")
    sd_info("cluster driver: local, in %s (sheep on this machine only)", opts.cluster_opts.c_str());
  else
    sd_info("cluster driver: %s%s%s", opts.cluster.c_str(), opts.cluster_opts.empty() ? "" : ":",
            opts.cluster_opts.c_str());
  sheep.driver = make_cluster_driver(opts.cluster, opts.cluster_opts, key);
  if (!sheep.driver) {
    sd_err("invalid cluster driver '%s'", opts.cluster.c_str());
    return 1;
  }
  sheep.epoch_recovery.set_throttle(opts.recovery_max, opts.recovery_interval);
  sheep.epoch_recovery.start();
  if (!sheep.group.start(sheep.driver.get()).ok()) {
    sd_err("failed to join the cluster");
    return 1;
  }
  // The page reads the group (its driver among others) from the endpoint's
  // thread: the endpoint starts once the group has. Its socket is bound
  // since before daemonizing, so a scrape meanwhile waits in the backlog.
  // Declared after the Sheep: the endpoint stops before the Sheep goes.
  MetricsPage metrics_page(sheep);
  MetricsEndpoint metrics_endpoint;
  bool metrics_ok = true;
  if (metrics_fd >= 0) {
    std::string why;
    std::string where = endpoint_text(opts.metrics_addr, opts.metrics_port);
    metrics_ok = metrics_endpoint.start(
        metrics_fd, [&metrics_page] { return metrics_page.render(); }, &why);
    if (metrics_ok)
      sd_info("metrics on http://%s/metrics (no authentication: firewall it)", where.c_str());
    else  // the group runs: it is left in order below
      sd_err("cannot serve metrics on %s: %s", where.c_str(), why.c_str());
  }
  if (metrics_ok) {
    sd_info("sheepdog daemon (version %s) started", SD_VERSION);
    notify_service_manager("READY=1\nSTATUS=serving");
    server.run();
  }
  sd_info("shutting down");
  notify_service_manager("STOPPING=1");
  // No more local reads from here: the cluster may move on without us.
  sheep.lease.set_state(sheep.group.epoch(), false);
  // Then the endpoint (which may be waiting for a disk scan to end).
  metrics_endpoint.stop();
  // Nothing may wait on peers from here on (they may be stopping too): calls
  // in flight fail at once, waits for cluster messages end.
  sheep.group.begin_stop();
  sheep.scrubber.quit();  // no repairs once the node is leaving
  sheep.peers.shutdown();
  sheep.admin_peers.shutdown();
  sheep.epoch_recovery.stop();
  server.stop_workers();
  if (sheep.leaver.joinable()) sheep.leaver.join();
  sheep.group.stop();
  sheep.server = nullptr;
  unlink((opts.dir + "/sock").c_str());
  if (!opts.pidfile.empty()) unlink(opts.pidfile.c_str());
  return metrics_ok ? 0 : 1;
}
