// MetricsEndpoint: `sheep --metrics [ADDR:]PORT` (docs/METRICS.md), the
// metrics page over HTTP, served by libmicrohttpd on a thread of its own.
//
// GET (or HEAD) /metrics answers 200 with the page; any other path 404,
// any other method 405. The endpoint has no authentication, so it binds
// to one address (127.0.0.1 unless told otherwise) and bounds what
// strangers can hold: at most kMaxConnections connections, at
// most kMaxPerAddress from one address, each closed after
// kIdleTimeoutSeconds of silence, with a fixed per-connection memory
// limit. Requests are answered one at a time on the endpoint's thread,
// which never touches the event loop: a flood of them slows the metrics,
// not the I/O.
//
// Assembly level: main.cpp opens the socket before the sheep daemonizes
// (so a port in use fails the sheep command with a message) and starts the
// endpoint once the cluster group has started (the page reads it); it is
// stopped after the read lease says "not serving", before the Sheep goes.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

struct MHD_Daemon;

namespace sd {

// True when this sheep was built with libmicrohttpd (--metrics works).
bool metrics_endpoint_available();

// The endpoint's listening socket on addr:port (a literal address); -1
// with *why on failure.
int open_metrics_socket(const std::string& addr, uint16_t port, std::string* why);

class MetricsEndpoint {
 public:
  static constexpr unsigned kMaxConnections = 32;
  static constexpr unsigned kMaxPerAddress = 4;
  static constexpr unsigned kIdleTimeoutSeconds = 10;

  MetricsEndpoint() = default;
  ~MetricsEndpoint() { stop(); }
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // Serves on listen_fd (which it takes over) until stop(); render()
  // makes the page, on the endpoint's thread. False with *why on failure.
  bool start(int listen_fd, std::function<std::string()> render, std::string* why);
  // Closes every connection and joins the thread; render() is not called
  // after it returns.
  void stop();

  // The endpoint's answer to one request (its status and body), apart from
  // HTTP: what the request handler sends.
  struct Answer {
    unsigned status;
    std::string body;
  };
  Answer answer(const char* method, const char* url) const;

 private:
  MHD_Daemon* daemon_ = nullptr;
  std::function<std::string()> render_;
};

}  // namespace sd
