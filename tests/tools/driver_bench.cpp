// driver-bench: measures ordered broadcasts through the cluster driver.
//
//   driver-bench [-a ADDR] [-p PORT] [-n COUNT] [-j INFLIGHT]
//
// Each ENABLE_RECOVER request makes the sheep broadcast one message through
// its cluster driver and wait until it has been delivered back in total
// order, so its latency is one ordered round trip. With -j 1 it prints the
// latency (p50/p99); with more in flight, the rate of broadcasts per second.
#include <getopt.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "client/sheep_client.h"

using namespace sd;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  Endpoint ep;
  int count = 1000, inflight = 1;
  int c;
  while ((c = getopt(argc, argv, "a:p:n:j:")) != -1) {
    if (c == 'a') ep.host = optarg;
    else if (c == 'p') ep.port = uint16_t(std::atoi(optarg));
    else if (c == 'n') count = std::atoi(optarg);
    else if (c == 'j') inflight = std::max(1, std::atoi(optarg));
    else return 2;
  }
  auto client = SheepClient::connect(ep);
  if (!client) {
    std::fprintf(stderr, "cannot connect to %s\n", ep.str().c_str());
    return 2;
  }
  std::vector<double> lat_us(static_cast<size_t>(count));
  std::atomic<int> next{0}, errors{0};
  auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < inflight; t++) {
    threads.emplace_back([&] {
      for (int i; (i = next++) < count;) {
        auto s = Clock::now();
        SdReq req = make_req(kOpEnableRecover);
        if (!client->exec(req, nullptr, nullptr).ok()) errors++;
        lat_us[size_t(i)] = std::chrono::duration<double, std::micro>(Clock::now() - s).count();
      }
    });
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::sort(lat_us.begin(), lat_us.end());
  std::printf("%d broadcasts, %d in flight: %.0f/s, latency p50 %.0f us, p99 %.0f us, errors %d\n",
              count, inflight, count / secs, lat_us[size_t(count / 2)],
              lat_us[size_t(count * 99 / 100)], errors.load());
  return errors ? 1 : 0;
}
