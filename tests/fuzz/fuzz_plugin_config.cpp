// Fuzz target: the nbd plugin's configuration keys (`nbdkit sheepdog
// KEY=VALUE ...`, nbd-plugin/plugin_config.cpp), as nbdkit hands them
// over: each input is a list of "key=value" lines, given to .config in
// order and then checked by .config_complete. nbdkit's own helpers the
// plugin calls are stood in for here, as nbdkit documents them.
#include <cstdarg>
#include <cstdint>
#include <cstring>
#include <string>
#include <strings.h>

#include "plugin_config.h"

extern "C" {
// nbdkit_error: a message for the log.
void nbdkit_error(const char*, ...) {}
// nbdkit_parse_bool: nbdkit's spellings of true and false; -1 otherwise.
int nbdkit_parse_bool(const char* s) {
  static const char* const kTrue[] = {"1", "true", "t", "yes", "y", "on"};
  static const char* const kFalse[] = {"0", "false", "f", "no", "n", "off"};
  for (const char* t : kTrue)
    if (strcasecmp(s, t) == 0) return 1;
  for (const char* f : kFalse)
    if (strcasecmp(s, f) == 0) return 0;
  return -1;
}
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  plugin_config::cfg = plugin_config::Config{};
  std::string text(reinterpret_cast<const char*>(data), size);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key.find('\0') != std::string::npos || value.find('\0') != std::string::npos) continue;
    if (plugin_config::config(key.c_str(), value.c_str()) < 0) return 0;
  }
  (void)plugin_config::config_complete();
  return 0;
}
