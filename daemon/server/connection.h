// Server::Conn, one connection's state, and the limits the event loop
// applies; shared by server.cpp (the loop) and server_auth.cpp (what a
// connection goes through before it has proved the cluster key).
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "cluster_key.h"
#include "server/request.h"
#include "server/server.h"

namespace sd::server_limits {

// Largest payload accepted: a whole inode object plus slack.
constexpr uint32_t kMaxPayload = 32u << 20;
// Requests a connection may have in flight before the loop stops reading it.
constexpr int kMaxInflight = 512;
// Reply bytes a connection may hold before the loop stops reading it, until
// they fall back to it: its replies queued and not yet sent (data plus each
// request's own size) and, for each request still running, the largest
// reply it may get (its data_length: for a read the client's buffer, for a
// write its payload). A client that sends and never reads its replies holds
// no more than this (a single request above it still runs, alone).
constexpr size_t kMaxReplyBytes = 32u << 20;
// Per-connection receive buffer: one read() takes in many small requests.
constexpr size_t kInBuffer = 128 << 10;
// Replies gathered into one writev().
constexpr int kMaxBatch = 64;
// Before the key is proved: room for one request and the handshake's
// 64-byte payload, the time allowed, and how many such connections.
constexpr size_t kUntrustedBuffer = 256;
constexpr auto kHandshakeDeadline = std::chrono::seconds(5);
constexpr size_t kMaxUntrusted = 256;

}  // namespace sd::server_limits

namespace sd {

struct Server::Conn {
  int fd = -1;
  uint64_t id = 0;
  // Reading: bytes received and not yet parsed are in[in_pos, in_end) of
  // in_cap bytes; a request whose payload is still arriving is cur.
  std::unique_ptr<char[]> in;
  size_t in_cap = 0;
  size_t in_pos = 0, in_end = 0;
  std::unique_ptr<Request> cur;
  size_t payload_got = 0;
  uint32_t events = 0;
  std::atomic<int> inflight{0};      // requests handed to workers
  // What its replies hold or may hold (kMaxReplyBytes; Request::charged
  // each): atomic, added to by the loop as a request runs, taken off by
  // whoever completes a request or sends a reply (under out_mu then).
  std::atomic<size_t> reply_bytes{0};
  // Close once replies are flushed and nothing runs. Set after an answer
  // that ends the connection, and at the client's end of stream: a client
  // that half-closes (shutdown(SHUT_WR)) still gets the replies of every
  // request it sent whole.
  std::atomic<bool> closing{false};
  // Writing, shared by the loop and the workers (a worker sends its own
  // reply when it can, saving a wake-up of the loop): replies in completion
  // order, out_off bytes of the front already sent.
  std::mutex out_mu;
  std::deque<std::unique_ptr<Request>> outq;
  size_t out_off = 0;
  bool closed = false;  // fd closed: replies are dropped
  bool broken = false;  // a write failed: the loop closes it
  bool reported = false;  // runner told it closed (once closed and idle)
  // Cluster key (loop thread only): trusted once proved, or from DIR/sock.
  bool trusted = true;
  bool challenged = false;        // a nonce was issued and awaits its answer
  bool challenge_issued = false;  // one challenge per connection
  std::chrono::steady_clock::time_point accepted_at{};
  AuthNonce nonce{};
  std::string peer;  // "ip:port" of a TCP client, for the log
  std::string host;  // its address alone (IPv6: its /64), for the caps
  // From this host (DIR/sock, a loopback address) or proved the cluster
  // key: may change the node's disks (Request::host_admin).
  bool host_admin = true;
};

}  // namespace sd
