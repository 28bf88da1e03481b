// Server: the event loop that owns every client and peer connection.
//
// One epoll thread accepts connections on TCP and on DIR/sock, reads
// pipelined requests (header, then payload) without blocking, hands each
// complete request to a work queue, and writes replies back in whatever
// order they complete. Workers hand finished requests back through a queue
// and an eventfd; the loop never waits on disk or on peers. SIGTERM and
// SIGINT (through a signalfd) and request_stop() end the loop after pending
// replies are flushed.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "request.h"
#include "result.h"
#include "work_queue.h"

namespace sd {

struct Sheep;

class Server {
 public:
  explicit Server(Sheep& sheep);
  ~Server();

  // Opens the listening sockets; false (with a log line) on failure.
  bool listen(const std::string& bind_addr, uint16_t port, const std::string& unix_path);
  // Runs until stopped.
  void run();
  // Thread safe.
  void request_stop();

 private:
  struct Conn;
  void accept_on(int lfd);
  void on_readable(Conn& c);
  void on_writable(Conn& c);
  void dispatch(Conn& c, std::unique_ptr<Request> req);
  void complete(std::unique_ptr<Request> req);  // called by workers
  void drain_completions();
  void update_events(Conn& c);
  void close_conn(uint64_t id);

  Sheep& sheep_;
  int epfd_ = -1;
  int tcp_fd_ = -1;
  int unix_fd_ = -1;
  int event_fd_ = -1;
  int signal_fd_ = -1;
  uint64_t next_conn_id_ = 100;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  WorkQueue gway_wq_;
  WorkQueue io_wq_;
  std::mutex done_mu_;
  std::vector<std::unique_ptr<Request>> done_;
  std::atomic<bool> stopping_{false};
};

}  // namespace sd
