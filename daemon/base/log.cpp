// Log formatting and output.
#include "base/log.h"

#include <pthread.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace sd::log {

static int g_fd = 2;
static std::atomic<int> g_level{Info};
static thread_local std::string t_name = "main";
static const char* kLabels[] = {"EMERG", "ALERT", "CRIT", "ERROR", "WARN", "NOTICE", "INFO", "DEBUG"};
static const char* kNames[] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};

bool open(const std::string& path, Level lvl) {
  g_level = lvl;
  if (path.empty()) {
    g_fd = 2;
    return true;
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  g_fd = fd;
  return true;
}

void set_level(Level l) { g_level = l; }
Level level() { return Level(g_level.load(std::memory_order_relaxed)); }
const char* level_name(Level l) { return kNames[l]; }

bool parse_level(const std::string& name, Level* out) {
  for (int i = 0; i <= Debug; i++) {
    if (name == kNames[i]) {
      *out = Level(i);
      return true;
    }
  }
  // Upstream also accepts the numeric level.
  if (name.size() == 1 && name[0] >= '0' && name[0] <= '7') {
    *out = Level(name[0] - '0');
    return true;
  }
  return false;
}

void write_raw(const char* msg, size_t len) {
  ssize_t rc = ::write(g_fd, msg, len);
  (void)rc;
}

void set_thread_name(const std::string& name) {
  t_name = name;
  // The kernel's name too (15 bytes at most), for top -H, ps -L and perf.
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

void write(Level lvl, const char* func, int line, const char* fmt, ...) {
  char buf[4096];
  time_t now = time(nullptr);
  struct tm tm;
  localtime_r(&now, &tm);
  size_t n = strftime(buf, sizeof(buf), "%b %2d %H:%M:%S ", &tm);
  n += size_t(snprintf(buf + n, sizeof(buf) - n, "%6s [%s] %s(%d) ", kLabels[lvl], t_name.c_str(),
                       func, line));
  if (n < sizeof(buf)) {
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
    va_end(ap);
    if (m > 0) n += size_t(m);
  }
  if (n > sizeof(buf) - 2) n = sizeof(buf) - 2;
  buf[n++] = '\n';
  ssize_t rc = ::write(g_fd, buf, n);
  (void)rc;
}

}  // namespace sd::log
