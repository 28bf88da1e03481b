// doctest's main for the unit_tests binary.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <csignal>

int main(int argc, char** argv) {
  // The client tests close sockets under in-flight writes; a write to a
  // dead peer must fail with EPIPE rather than kill the test binary.
  std::signal(SIGPIPE, SIG_IGN);
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
