// doctest's main for the unit_tests binary.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <csignal>
#include <cstdlib>

#include "base/log.h"

int main(int argc, char** argv) {
  // The client tests close sockets under in-flight writes; a write to a
  // dead peer must fail with EPIPE rather than kill the test binary.
  std::signal(SIGPIPE, SIG_IGN);
  // The daemon's parts log; only their errors are of interest here
  // (SD_UNIT_LOG=debug shows everything).
  sd::log::Level level = sd::log::Err;
  if (const char* l = std::getenv("SD_UNIT_LOG")) sd::log::parse_level(l, &level);
  sd::log::open("", level);
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
