// dog's two output channels: diagnostics on stderr and confirmation prompts.
//
// Normal output goes through stdio on stdout, which stdio leaves fully
// buffered when stdout is not a tty; nothing here flushes it. Diagnostics are
// written straight to fd 2, one write(2) per line, so in captured output
// (2>&1) every stderr line precedes the command's stdout, as upstream's. A
// progress bar on screen (progress.h) gets its line ended first.
#include <unistd.h>

#include <cctype>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "dog.h"
#include "progress.h"
#include "proto/inode.h"

namespace dog {

void err(const char* fmt, ...) {
  progress_end_line();
  va_list ap;
  va_start(ap, fmt);
  va_list ap2;
  va_copy(ap2, ap);
  int n = std::vsnprintf(nullptr, 0, fmt, ap);
  va_end(ap);
  if (n < 0) {
    va_end(ap2);
    return;
  }
  std::string line(size_t(n) + 1, '\0');
  std::vsnprintf(line.data(), line.size(), fmt, ap2);
  va_end(ap2);
  line[size_t(n)] = '\n';
  write_stderr(line);
}

void confirm(const char* text) {
  std::fputs(text, stdout);
  char buf[256];
  if (!std::fgets(buf, sizeof(buf), stdin)) std::exit(kExitSuccess);
  if (strncasecmp(buf, "yes", 3) != 0) std::exit(kExitSuccess);
}

void confirm_caution(const char* first_line, const char* second_line) {
  std::string text = std::string("    __\n   ()'`;\n   /\\|`  Caution! ") + first_line +
                     "\n  /  |   " + second_line +
                     "\n(/_)_|_  Are you sure you want to continue? [yes/no]: ";
  confirm(text.c_str());
}

int alter_copy_count(const Context& ctx, uint8_t requested, uint8_t copy_policy, bool force,
                     const char* what, uint8_t* copies) {
  if (copy_policy) {
    err("Changing redundancy level of erasure coded vdi is not supported yet.");
    print_subcommand_usage(ctx);
    return kExitUsage;
  }
  *copies = requested;
  if (!*copies) {
    std::printf("The %s's redundancy level is not specified, use %d as default.\n", what,
                sd::kDefaultCopies);
    *copies = sd::kDefaultCopies;
  }
  if (*copies > ctx.nodes.size() && !force) {
    char text[160];
    std::snprintf(text, sizeof(text),
                  "Number of copies (%d) is larger than number of nodes (%zu).\n"
                  "Are you sure you want to continue? [yes/no]: ",
                  *copies, ctx.nodes.size());
    confirm(text);
  }
  return kExitSuccess;
}

}  // namespace dog
