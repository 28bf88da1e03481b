// The sheep log: one line per event in upstream's "server" format,
//   "Nov 25 14:13:39  ERROR [main] func(line) message"
// written to DIR/sheep.log (or stderr before the log file exists, or with
// -l dst=stdout). Thread safe; each line is written with one write(2).
#pragma once
#include <string>

namespace sd::log {

enum Level { Emerg = 0, Alert, Crit, Err, Warning, Notice, Info, Debug };

// Opens the log file (append). An empty path logs to stderr.
bool open(const std::string& path, Level level);
void set_level(Level level);
Level level();
// Parses "info" / "debug" / ... ; false for an unknown name.
bool parse_level(const std::string& name, Level* out);
const char* level_name(Level l);
// Name shown in brackets for lines logged by the calling thread, and the
// thread's name in the kernel (its first 15 bytes: top -H, ps -L, perf).
void set_thread_name(const std::string& name);

// Writes bytes to the log as they are (async-signal-safe).
void write_raw(const char* msg, size_t len);

void write(Level level, const char* func, int line, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));

}  // namespace sd::log

#define SD_LOG(lvl, ...)                                                    \
  do {                                                                      \
    if ((lvl) <= ::sd::log::level()) ::sd::log::write((lvl), __func__, __LINE__, __VA_ARGS__); \
  } while (0)
#define sd_err(...) SD_LOG(::sd::log::Err, __VA_ARGS__)
#define sd_warn(...) SD_LOG(::sd::log::Warning, __VA_ARGS__)
#define sd_notice(...) SD_LOG(::sd::log::Notice, __VA_ARGS__)
#define sd_info(...) SD_LOG(::sd::log::Info, __VA_ARGS__)
#define sd_debug(...) SD_LOG(::sd::log::Debug, __VA_ARGS__)
