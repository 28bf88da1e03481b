// Request: one client or peer request inside the daemon, from the moment
// its header and payload are read until its reply is written.
//
// The payload (for WRITE requests) and the reply data are plain heap
// buffers; a handler that returns data allocates exactly what it sends with
// reply_buffer(), never more than the client asked for.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "proto/wire.h"

namespace sd {

struct Request {
  SdReq hdr{};
  SdRsp rsp{};
  std::unique_ptr<char[]> payload;  // hdr.data_length bytes when WRITE
  std::unique_ptr<char[]> reply;    // rsp.data_length bytes are sent
  uint64_t conn_id = 0;
  // Sent from this host (DIR/sock, loopback) or over a connection that
  // proved the cluster key: allowed to name local directories (MD_PLUG).
  bool host_admin = false;
  std::string peer;  // "ip:port" of a TCP client, for the log (empty: DIR/sock)
  // When the loop had read all of it (for the latency metrics).
  std::chrono::steady_clock::time_point received_at{};
  // Bytes counted for it in its connection's reply_bytes (server only; set
  // and read by whichever thread holds the request).
  size_t charged = 0;

  const char* data() const { return payload.get(); }
  uint32_t data_length() const { return hdr.data_length; }
  bool is_write() const { return hdr.flags & kFlagWrite; }
  // Allocates the reply data area (n is capped at the client's buffer
  // size) and sets rsp.data_length to n.
  char* reply_buffer(uint32_t n) {
    if (n > hdr.data_length) n = hdr.data_length;
    reply.reset(new char[n ? n : 1]);
    rsp.data_length = n;
    return reply.get();
  }
};

}  // namespace sd
