// A fuzz target's private temporary directory: made once (under $TMPDIR,
// else /tmp), removed with everything in it when the process exits.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace sdfuzz {

inline std::string make_temp_dir(const char* prefix) {
  static std::string to_remove;  // one per process: each target makes one
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
  if (!mkdtemp(templ.data())) {
    std::fprintf(stderr, "fuzz: cannot make a temporary directory under %s\n", templ.c_str());
    std::abort();
  }
  to_remove = templ;
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(to_remove, ec);
  });
  return templ;
}

}  // namespace sdfuzz
