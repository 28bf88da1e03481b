// Size parsing and printing in dog's units.
#include "size.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace sd {

bool parse_size(const char* text, uint64_t* out) {
  if (!text || !*text) return false;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text, &end);
  if (end == text || errno == ERANGE || !(v >= 0)) return false;
  double mult = 1;
  if (*end) {
    if (end[1]) return false;
    switch (std::toupper(static_cast<unsigned char>(*end))) {
      case 'B': mult = 1; break;
      case 'K': mult = 1024.0; break;
      case 'M': mult = 1024.0 * 1024; break;
      case 'G': mult = 1024.0 * 1024 * 1024; break;
      case 'T': mult = 1024.0 * 1024 * 1024 * 1024; break;
      case 'P': mult = 1024.0 * 1024 * 1024 * 1024 * 1024; break;
      default: return false;
    }
  }
  double bytes = v * mult;
  if (bytes >= 18446744073709551616.0) return false;
  *out = uint64_t(bytes);
  return true;
}

std::string format_size(uint64_t bytes, bool raw) {
  char buf[64];
  if (raw) {
    std::snprintf(buf, sizeof(buf), "%llu", static_cast<unsigned long long>(bytes));
    return buf;
  }
  static const char* units[] = {"MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  double v = double(bytes) / (1024.0 * 1024.0);
  size_t u = 0;
  while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
    v /= 1024;
    u++;
  }
  if (v >= 10)
    std::snprintf(buf, sizeof(buf), "%.0f %s", v, units[u]);
  else
    std::snprintf(buf, sizeof(buf), "%.1f %s", v, units[u]);
  return buf;
}

bool parse_u64(const char* text, uint64_t max, uint64_t* out) {
  if (!text || !*text) return false;
  for (const char* p = text; *p; p++)
    if (!std::isdigit(static_cast<unsigned char>(*p))) return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (errno == ERANGE || *end || v > max) return false;
  *out = v;
  return true;
}

}  // namespace sd
