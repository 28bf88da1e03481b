// Option descriptions shared by every command group, the subcommand usage
// text, and parsers for option values several commands share (-c, -z, -s,
// sizes), each printing upstream's exact message on bad input.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "dog.h"
#include "proto/inode.h"

namespace dog {

namespace {

const OptionDesc kCommonOptions[] = {
    {'a', "address", true, "specify the daemon address (default: localhost)"},
    {'p', "port", true, "specify the daemon port"},
    {'h', "help", false, "display this help and exit"},
    {'r', "raw", false,
     "raw output mode: omit headers, separate fields with\n"
     "                          single spaces and print all sizes in decimal bytes"},
    {'v', "verbose", false, "print more information than default"},
    {'T', "time", false, "show elapsed time"},
    {0, nullptr, false, nullptr},
};

}  // namespace

const OptionDesc* find_option(const Command& cmd, char ch) {
  for (const OptionDesc* o = cmd.options; o && o->letter; o++)
    if (o->letter == ch) return o;
  for (const OptionDesc* o = kCommonOptions; o->letter; o++)
    if (o->letter == ch) return o;
  return nullptr;
}

void print_subcommand_usage(const Context& ctx) {
  std::printf("Usage: dog %s %s", ctx.cmd->name, ctx.sub->name);
  if (ctx.sub->nr_nested == 1) {
    std::printf(" %s", ctx.sub->nested[0].name);
  } else if (ctx.sub->nr_nested > 1) {
    std::printf(" {");
    for (size_t i = 0; i < ctx.sub->nr_nested; i++)
      std::printf("%s%s", i ? "|" : "", ctx.sub->nested[i].name);
    std::printf("}");
  }
  for (const char* l = ctx.sub->opts; *l; l++) {
    const OptionDesc* o = find_option(*ctx.cmd, *l);
    if (!o) continue;
    if (o->has_arg)
      std::printf(" [-%c %s]", o->letter, o->long_name);
    else
      std::printf(" [-%c]", o->letter);
  }
  if (ctx.sub->args) std::printf(" %s", ctx.sub->args);
  std::printf("\n");
  if (ctx.sub->nr_nested) {
    std::printf("Available subcommands:\n");
    for (size_t i = 0; i < ctx.sub->nr_nested; i++)
      std::printf("  %-24s%s\n", ctx.sub->nested[i].name, ctx.sub->nested[i].desc);
  }
  std::printf("Options:\n");
  for (const char* l = ctx.sub->opts; *l; l++) {
    const OptionDesc* o = find_option(*ctx.cmd, *l);
    if (!o) continue;
    char name[64];
    std::snprintf(name, sizeof(name), "-%c, --%s", o->letter, o->long_name);
    std::printf("  %-24s%s\n", name, o->desc);
  }
}

bool parse_copies(const char* text, uint8_t* copies, uint8_t* copy_policy) {
  char* end = nullptr;
  errno = 0;
  long d = std::strtol(text, &end, 10);
  bool ok = end != text && errno == 0;
  if (ok && *end == '\0') {
    ok = d >= 1 && d <= sd::kMaxCopies;
    if (ok) {
      *copies = uint8_t(d);
      *copy_policy = 0;
      return true;
    }
  } else if (ok && *end == ':') {
    const char* ptext = end + 1;
    char* pend = nullptr;
    errno = 0;
    long p = std::strtol(ptext, &pend, 10);
    ok = pend != ptext && *pend == '\0' && errno == 0 &&
         (d == 2 || d == 4 || d == 8 || d == 16) && p >= 1 && p <= 15;
    if (ok) {
      *copies = uint8_t(d + p);
      *copy_policy = uint8_t(((d / 2) << 4) + p);
      return true;
    }
  }
  err("Invalid parameter %s\n"
      "To create replicated vdi, set -c x\n"
      "  x(1 to 31)   - number of replicated copies\n"
      "To create erasure coded vdi, set -c x:y\n"
      "  x(2,4,8,16)  - number of data strips\n"
      "  y(1 to 15)   - number of parity strips",
      text);
  return false;
}

std::string copies_str(uint8_t nr_copies, uint8_t copy_policy) {
  char buf[32];
  if (copy_policy == 0)
    std::snprintf(buf, sizeof(buf), "%d", nr_copies);
  else
    std::snprintf(buf, sizeof(buf), "%d:%d", (copy_policy >> 4) * 2, copy_policy & 0x0f);
  return buf;
}

bool parse_block_size_shift(const char* text, uint8_t* shift) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (v > long(sd::kMaxBlockSizeShift)) {
    err("Object Size is limited to 2^31. Please set shift bit lower than 31");
    return false;
  }
  if (v < long(sd::kMinBlockSizeShift) || end == text || *end != '\0') {
    err("Object Size is larger than 2^20. Please set shift bit larger than 20");
    return false;
  }
  *shift = uint8_t(v);
  return true;
}

bool parse_snapshot(const char* text, uint32_t* snapid, std::string* tag) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text, &end, 10);
  if (end != text && *end == '\0' && errno == 0) {
    if (v == 0) {
      std::fprintf(stderr, "The snapshot id must be larger than zero\n");
      return false;
    }
    *snapid = uint32_t(v);
    tag->clear();
    return true;
  }
  *snapid = 0;
  *tag = text;
  return true;
}

void report_invalid_size(const char* text) {
  err("Invalid size '%s'\n"
      "You may use B, K, M, G, T or P suffixes for bytes, kilobytes, megabytes, gigabytes, "
      "terabytes and petabytes.",
      text);
}

}  // namespace dog
