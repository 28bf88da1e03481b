// The metrics endpoint on libmicrohttpd (when the build found it; without
// it --metrics is refused by the option parser and nothing here runs).
#include "metrics_endpoint.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <thread>

#include "base/log.h"
#include "base/rate_limit.h"
#include "metrics/exposition.h"
#include "net.h"

#ifdef SD_HAVE_MICROHTTPD
#include <microhttpd.h>
#if MHD_VERSION < 0x00097002
using MHD_Result = int;  // before 0.9.71 the callbacks returned int
#endif
#endif

namespace sd {

namespace {

// Each connection's memory: the request line and headers (a longer request
// is refused by the library).
constexpr size_t kConnectionMemory = 32 << 10;
// Pending connections the kernel keeps for the endpoint.
constexpr int kBacklog = 64;

}  // namespace

bool metrics_endpoint_available() {
#ifdef SD_HAVE_MICROHTTPD
  return true;
#else
  return false;
#endif
}

int open_metrics_socket(const std::string& addr, uint16_t port, std::string* why) {
  int fd = listen_tcp(addr, port);
  if (fd < 0) {
    *why = std::strerror(errno);
    return -1;
  }
  listen(fd, kBacklog);  // a shorter queue than the sheep's own port
  return fd;
}

MetricsEndpoint::Answer MetricsEndpoint::answer(const char* method, const char* url) const {
  if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0)
    return {405, "only GET and HEAD are served here\n"};
  if (std::strcmp(url, "/metrics") != 0) return {404, "not found: the metrics are at /metrics\n"};
  return {200, render_()};
}

#ifdef SD_HAVE_MICROHTTPD

namespace {

RateLimit g_library_complaints{1};

// The thread that started the endpoint (its messages at start-up come
// from there); set before the library's thread exists.
std::thread::id g_starter;

// The library's thread is "metrics" in the log.
void name_this_thread() {
  thread_local bool named = false;
  if (named || std::this_thread::get_id() == g_starter) return;
  log::set_thread_name("metrics");
  named = true;
}

void log_library_message(void*, const char* fmt, va_list ap) {
  name_this_thread();
  uint64_t skipped = 0;
  if (!g_library_complaints.allow(&skipped)) return;
  char msg[512];
  std::vsnprintf(msg, sizeof(msg), fmt, ap);
  size_t n = std::strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) msg[--n] = '\0';
  if (skipped)
    sd_warn("metrics endpoint: %s (and %llu more messages)", msg, (unsigned long long)skipped);
  else
    sd_warn("metrics endpoint: %s", msg);
}

MHD_Result handle_request(void* cls, MHD_Connection* conn, const char* url, const char* method,
                          const char*, const char*, size_t* upload_size, void**) {
  name_this_thread();
  // A request body (which nothing here wants) is read and dropped.
  if (*upload_size) {
    *upload_size = 0;
    return MHD_YES;
  }
  auto* self = static_cast<const MetricsEndpoint*>(cls);
  MetricsEndpoint::Answer a = self->answer(method, url);
  MHD_Response* rsp =
      MHD_create_response_from_buffer(a.body.size(), a.body.data(), MHD_RESPMEM_MUST_COPY);
  if (!rsp) return MHD_NO;
  MHD_add_response_header(rsp, MHD_HTTP_HEADER_CONTENT_TYPE,
                          a.status == 200 ? metrics::kContentType : "text/plain; charset=utf-8");
  if (a.status == 405) MHD_add_response_header(rsp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
  MHD_Result r = MHD_queue_response(conn, a.status, rsp);
  MHD_destroy_response(rsp);
  return r;
}

}  // namespace

bool MetricsEndpoint::start(int listen_fd, std::function<std::string()> render, std::string* why) {
  render_ = std::move(render);
  g_starter = std::this_thread::get_id();
  daemon_ = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG, 0, nullptr, nullptr,
      &handle_request, this,
      MHD_OPTION_EXTERNAL_LOGGER, &log_library_message, nullptr,  // first, to catch every message
      MHD_OPTION_LISTEN_SOCKET, MHD_socket(listen_fd),
      MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned int>(kMaxConnections),
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, static_cast<unsigned int>(kMaxPerAddress),
      MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned int>(kIdleTimeoutSeconds),
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, kConnectionMemory,
      MHD_OPTION_END);
  if (!daemon_) {
    *why = "libmicrohttpd could not start";
    return false;
  }
  return true;
}

void MetricsEndpoint::stop() {
  if (!daemon_) return;
  MHD_stop_daemon(daemon_);  // closes the listening socket too
  daemon_ = nullptr;
}

#else

bool MetricsEndpoint::start(int listen_fd, std::function<std::string()>, std::string* why) {
  close(listen_fd);
  *why = "this sheep was built without libmicrohttpd";
  return false;
}

void MetricsEndpoint::stop() {}

#endif

}  // namespace sd
