// Server: the event loop that owns every client and peer connection.
//
// One epoll thread accepts connections on TCP and on DIR/sock, reads
// pipelined requests (header, then payload) without blocking, hands each
// complete request to a work queue (or answers it at once when that cannot
// block: reads from the page cache), and replies go back in whatever order
// they complete. A worker sends its own reply when the socket takes it and
// wakes the loop (a queue and an eventfd) only for what it cannot do: wait
// for the socket to drain, close, resume reading. The loop never waits on
// disk or on peers. SIGTERM and
// SIGINT (through a signalfd) and request_stop() end the loop after pending
// replies are flushed.
//
// Before a TCP connection has proved the cluster key it costs a bounded,
// small amount: a 256-byte input buffer, one challenge, at most one reply
// queued (nothing more is read until it is sent), 5 s to finish, at most
// most 256 such connections (beyond that, the oldest from the address with
// the most of them goes). Accepted TCP connections detect a vanished peer through TCP
// keepalive and TCP_USER_TIMEOUT (set_dead_peer_timeout).
//
// Any connection that sends faster than it reads its replies is held back:
// once its queued replies and the replies its running requests may get
// exceed kMaxReplyBytes (connection.h), or 512 requests run, nothing more
// is read from it until they fall back under the cap.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster_key.h"
#include "server/request.h"
#include "result.h"
#include "base/rate_limit.h"
#include "base/work_queue.h"

namespace sd {

// What the loop hands requests to (the opcode table in ops/).
class RequestRunner {
 public:
  virtual ~RequestRunner() = default;
  // Which worker pool runs a request: gateway work (may wait on peers),
  // local I/O, or none (answered at once on the loop: unknown opcodes).
  enum class Queue { Gateway, Io, Immediate };
  virtual Queue queue_of(const Request& req) const = 0;
  // Runs a request to completion on a worker thread, filling req.rsp.
  virtual void run(Request& req) = 0;
  // Answers at once when that cannot block; false leaves req untouched.
  virtual bool run_inline(Request& req) = 0;
  // The epoch replies carry.
  virtual uint32_t reply_epoch() const = 0;
  // Connection conn_id closed and none of its requests is still running
  // (called on a worker thread, once per connection).
  virtual void connection_closed(uint64_t /*conn_id*/) {}
};

class Server {
 public:
  // With a non-empty key every TCP connection must prove it holds the key
  // (cluster_key.h) before any of its requests runs; DIR/sock is trusted.
  // TCP connections whose peer stops answering are closed after about
  // tcp_timeout seconds (sheep --tcp-timeout).
  Server(RequestRunner& runner, ClusterKey key = {}, unsigned tcp_timeout = 30);
  ~Server();

  // Opens the listening sockets; false (with a log line) on failure.
  bool listen(const std::string& bind_addr, uint16_t port, const std::string& unix_path);
  // A second TCP listener for I/O between sheep (sheep -i).
  bool listen_io(const std::string& addr, uint16_t port);
  // Runs until stopped.
  void run();
  // Thread safe.
  void request_stop();
  // Closes these client connections (thread safe; done by the loop).
  void close_connections(const std::vector<uint64_t>& ids);
  // After run(): finishes the requests the workers hold and joins them.
  void stop_workers();

 private:
  struct Conn;
  void accept_on(int lfd);
  void on_readable(Conn& c);
  void on_writable(Conn& c);
  void dispatch(Conn& c, std::unique_ptr<Request> req);
  void complete(Conn& c, std::unique_ptr<Request> req);  // called by workers
  void drain_completions();
  // Sends queued replies until done or the socket is full (c.out_mu held);
  // false on a write error. Adds the charges of the replies sent to
  // *retired, for the caller to release.
  bool flush_locked(Conn& c, size_t* retired);
  // Takes n bytes off c.reply_bytes; true when that brought them back
  // under the cap (the loop must resume reading c).
  static bool release_reply_bytes(Conn& c, size_t n);
  // c may take another request: not closing, and under the caps on
  // requests in flight and on reply bytes.
  bool may_read(const Conn& c) const;
  // The connection with this id, or nullptr once it is closed.
  std::shared_ptr<Conn> find_conn(uint64_t id) const;
  // Requests sit in c's receive buffer: the socket may never signal again.
  bool has_buffered_request(const Conn& c) const;
  // Queues c for on_readable at the next turn of the loop if it has
  // buffered requests and may take more.
  void note_ready(Conn& c);
  void update_events(Conn& c);
  void close_conn(uint64_t id);
  // A request on a connection that has not proved the key: the handshake's
  // two steps are answered, anything else is refused unrun.
  void answer_untrusted(Conn& c, std::unique_ptr<Request> req);
  // Tells the runner, on a worker, that c is closed and idle (c.out_mu held).
  void report_closed_locked(Conn& c);
  // Closes connections that have not proved the key in time; returns the
  // epoll timeout (ms) until the next deadline, -1 when there is none.
  int expire_handshakes();
  // c proved the key: it gets the full input buffer.
  void trust(Conn& c);
  // Counts a new connection that has yet to prove the key, making room
  // under the cap first.
  void admit_untrusted(Conn& c);
  // c no longer counts as a stranger (trusted or closed).
  void forget_untrusted(Conn& c);

  RequestRunner& runner_;
  const ClusterKey key_;
  const unsigned tcp_timeout_;
  int epfd_ = -1;
  int tcp_fd_ = -1;
  int unix_fd_ = -1;
  int io_fd_ = -1;
  int event_fd_ = -1;
  int signal_fd_ = -1;
  int spare_fd_ = -1;  // kept to turn connections away when out of descriptors
  std::chrono::steady_clock::time_point last_accept_error_{};
  uint64_t next_conn_id_ = 100;
  std::unordered_map<uint64_t, std::shared_ptr<Conn>> conns_;
  WorkQueue gway_wq_;
  WorkQueue io_wq_;
  std::mutex done_mu_;
  std::vector<uint64_t> done_;  // connections a worker wants the loop to look at
  std::vector<uint64_t> to_close_;  // connections to close; guarded by done_mu_
  std::vector<uint64_t> ready_;  // connections with buffered requests (loop only)
  // Connections still to prove the key, oldest first (loop only; ids of
  // connections since trusted or closed are skipped when met).
  std::deque<uint64_t> untrusted_;
  size_t untrusted_count_ = 0;
  // The same ids by client address (IPv6: by /64), oldest first (loop only).
  std::unordered_map<std::string, std::deque<uint64_t>> untrusted_by_host_;
  RateLimit auth_complaints_{5};  // log lines about refused connections
  RateLimit cap_complaints_{1};   // ... and about the cap on strangers
  std::atomic<bool> stopping_{false};
};

}  // namespace sd
