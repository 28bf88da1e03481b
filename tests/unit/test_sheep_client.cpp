// client/sheep_client.h: pipelining, replies out of order, failure and
// reconnection, against a fake sheep on a loopback socket.
#include <doctest/doctest.h>
#include <poll.h>

#include <atomic>
#include <cerrno>
#include <thread>
#include <vector>

#include "client/sheep_client.h"
#include "client/vdi_locks.h"
#include "fake_sheep.h"

namespace {

// The reply data the fake sheep sends for a read of oid: byte i is a
// function of both, so a reply delivered to the wrong caller shows.
char pattern(uint64_t oid, size_t i) { return char((oid * 31 + i * 7) & 0xff); }

uint32_t payload_sum(const std::vector<char>& p) {
  uint32_t s = 0;
  for (char c : p) s += uint8_t(c);
  return s;
}

// Answers one request: reads get pattern data, writes get the sum of their
// payload in rsp.vdi.vdi_id, and oids divisible by 5 fail with NoObj.
bool answer(int fd, const sd::SdReq& req, const std::vector<char>& payload) {
  sd::SdRsp rsp{};
  sd::Res r = req.obj.oid % 5 == 0 ? sd::Res::NoObj : sd::Res::Success;
  if (req.flags & sd::kFlagWrite) {
    rsp.vdi.vdi_id = payload_sum(payload);
    return sdtest::send_rsp(fd, req, r, nullptr, 0, rsp);
  }
  if (r != sd::Res::Success) return sdtest::send_rsp(fd, req, r);
  std::vector<char> data(req.data_length);
  for (size_t i = 0; i < data.size(); i++) data[i] = pattern(req.obj.oid, i);
  rsp.vdi.vdi_id = uint32_t(req.obj.oid);
  return sdtest::send_rsp(fd, req, r, data.data(), uint32_t(data.size()), rsp);
}

struct Pending {
  sd::SdReq req;
  std::vector<char> payload;
};

// Reads exactly n requests, then answers them last first.
void serve_batches_reversed(int fd, int n) {
  for (;;) {
    std::vector<Pending> batch(static_cast<size_t>(n));
    for (auto& p : batch)
      if (!sdtest::recv_req(fd, &p.req, &p.payload)) return;
    for (auto it = batch.rbegin(); it != batch.rend(); ++it)
      if (!answer(fd, it->req, it->payload)) return;
  }
}

// Collects whatever requests arrive until the line is quiet for 2 ms, then
// answers them last first.
void serve_reversed_when_idle(int fd) {
  std::vector<Pending> batch;
  for (;;) {
    pollfd pfd{fd, POLLIN, 0};
    int rc = poll(&pfd, 1, batch.empty() ? -1 : 2);
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) {
      for (auto it = batch.rbegin(); it != batch.rend(); ++it)
        if (!answer(fd, it->req, it->payload)) return;
      batch.clear();
      continue;
    }
    Pending p;
    if (!sdtest::recv_req(fd, &p.req, &p.payload)) return;
    batch.push_back(std::move(p));
  }
}

sd::SdReq read_req(uint64_t oid, uint32_t len) {
  sd::SdReq req = sd::make_req(sd::kOpReadObj, 0, len);
  req.obj.oid = oid;
  return req;
}

bool check_read(sd::SheepClient& c, uint64_t oid, uint32_t len) {
  std::vector<char> buf(len);
  auto r = c.call(read_req(oid, len), nullptr, buf.data());
  if (!r.ok()) return false;
  if (oid % 5 == 0) return r->result == uint32_t(sd::Res::NoObj) && r->data_length == 0;
  if (r->result != 0 || r->data_length != len || r->vdi.vdi_id != uint32_t(oid)) return false;
  if (r->opcode != sd::kOpReadObj) return false;
  for (size_t i = 0; i < len; i++)
    if (buf[i] != pattern(oid, i)) return false;
  return true;
}

bool check_write(sd::SheepClient& c, uint64_t oid, uint32_t len) {
  std::vector<char> payload(len);
  for (size_t i = 0; i < len; i++) payload[i] = char((oid + i) & 0xff);
  sd::SdReq req = sd::make_req(sd::kOpWriteObj, sd::kFlagWrite, len);
  req.obj.oid = oid;
  auto r = c.call(req, payload.data(), nullptr);
  if (!r.ok()) return false;
  sd::Res want = oid % 5 == 0 ? sd::Res::NoObj : sd::Res::Success;
  return r->result == uint32_t(want) && r->vdi.vdi_id == payload_sum(payload) &&
         r->data_length == 0;
}

}  // namespace

TEST_CASE("pipelined calls from many threads, answered in reverse order") {
  const int kThreads = 8;
  sdtest::FakeServer server([&](int fd) { serve_batches_reversed(fd, kThreads); });
  REQUIRE(server.ok());
  auto client = sd::SheepClient::connect(server.endpoint());
  REQUIRE(client);

  // The server answers nothing until all kThreads requests have arrived,
  // so every call below is in flight at once.
  for (int round = 0; round < 3; round++) {
    std::atomic<int> good{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++) {
      threads.emplace_back([&, t] {
        uint64_t oid = uint64_t(round * 100 + t + 1);
        // Mixed sizes, so long replies interleave with short ones.
        uint32_t len = t % 3 == 0 ? (1u << 20) + 13 : t % 3 == 1 ? 100 : 4096;
        bool ok = t % 2 ? check_write(*client, oid, len) : check_read(*client, oid, len);
        if (ok) good++;
      });
    }
    for (auto& th : threads) th.join();
    CHECK(good == kThreads);
  }
  CHECK(server.accepted() == 1);
}

TEST_CASE("a short reply buffer gets a prefix and the rest is skipped") {
  sdtest::FakeServer server([&](int fd) { serve_batches_reversed(fd, 2); });
  REQUIRE(server.ok());
  auto client = sd::SheepClient::connect(server.endpoint());
  REQUIRE(client);
  std::atomic<bool> other_ok{false};
  std::thread other([&] { other_ok = check_read(*client, 7, 5000); });
  std::vector<char> small(10);
  auto r = client->call(read_req(3, 70000), nullptr, small.data(), 10);
  other.join();
  REQUIRE(r.ok());
  CHECK(r->data_length == 10);
  for (size_t i = 0; i < 10; i++) CHECK(small[i] == pattern(3, i));
  CHECK(other_ok);
}

TEST_CASE("object helpers fold the server's result into a Status") {
  sdtest::FakeServer server([&](int fd) { serve_batches_reversed(fd, 1); });
  REQUIRE(server.ok());
  auto client = sd::SheepClient::connect(server.endpoint());
  REQUIRE(client);
  std::vector<char> buf(64);
  CHECK(client->read_obj(11, buf.data(), 64, 0).ok());
  CHECK(buf[5] == pattern(11, 5));
  CHECK(client->read_obj(10, buf.data(), 64, 0).code() == sd::Res::NoObj);
  CHECK(client->write_obj(11, buf.data(), 64, 0).ok());
  CHECK(client->write_obj(15, buf.data(), 64, 0).code() == sd::Res::NoObj);
  CHECK(client->create_and_write_obj(12, buf.data(), 64, 0, 3, 99).ok());
  CHECK(client->last_epoch() == 1);
}

// Six threads make `calls` calls each on one client of a server that
// answers in reverse order whatever has arrived when the line goes quiet;
// call i of oid gets len_of(oid, i) bytes and is a write when
// is_write(i). Returns the calls whose reply was wrong.
int bad_mixed_calls(int calls, uint32_t (*len_of)(uint64_t, int), bool (*is_write)(int)) {
  sdtest::FakeServer server([&](int fd) { serve_reversed_when_idle(fd); });
  REQUIRE(server.ok());
  auto client = sd::SheepClient::connect(server.endpoint());
  REQUIRE(client);
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < calls; i++) {
        uint64_t oid = uint64_t(t * 1000 + i + 1);
        uint32_t len = len_of(oid, i);
        bool ok = is_write(i) ? check_write(*client, oid, len) : check_read(*client, oid, len);
        if (!ok) bad++;
      }
    });
  }
  for (auto& th : threads) th.join();
  return bad.load();
}

TEST_CASE("many threads, many calls, replies out of order") {
  CHECK(bad_mixed_calls(
            40, [](uint64_t oid, int) { return uint32_t(1 + (oid * 977) % 20000); },
            [](int i) { return i % 2 == 1; }) == 0);
}

TEST_CASE("large and small replies out of order, some empty, straight into place") {
  // Payloads of 64 KiB and more are read into their caller's buffer after
  // a header read alone; small ones through the receive buffer; error
  // replies (every fifth oid) carry none although a large one was asked.
  CHECK(bad_mixed_calls(
            25,
            [](uint64_t oid, int i) {
              return i % 3 ? uint32_t(65536 + (oid * 7919) % 300000) : uint32_t(1 + oid % 5000);
            },
            [](int i) { return i % 4 == 3; }) == 0);
}

TEST_CASE("a dropped connection fails the calls in flight, the next call reconnects") {
  const int kInFlight = 3;
  std::atomic<int> conn{0};
  sdtest::FakeServer server([&](int fd) {
    if (conn++ == 0) {
      // First connection: take kInFlight requests, answer none, hang up.
      for (int i = 0; i < kInFlight; i++) {
        sd::SdReq req;
        std::vector<char> payload;
        if (!sdtest::recv_req(fd, &req, &payload)) return;
      }
      shutdown(fd, SHUT_RDWR);
      return;
    }
    serve_batches_reversed(fd, 1);
  });
  REQUIRE(server.ok());
  auto client = sd::SheepClient::connect(server.endpoint());
  REQUIRE(client);

  std::atomic<int> network_errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kInFlight; t++) {
    threads.emplace_back([&, t] {
      std::vector<char> buf(4096);
      auto r = client->call(read_req(uint64_t(t + 1), 4096), nullptr, buf.data());
      if (!r.ok() && r.code() == sd::Res::NetworkError) network_errors++;
    });
  }
  for (auto& th : threads) th.join();
  CHECK(network_errors == kInFlight);
  CHECK(server.accepted() == 1);

  // The next call opens a new connection and works.
  CHECK(check_read(*client, 42, 1000));
  CHECK(check_write(*client, 43, 1000));
  CHECK(server.accepted() == 2);
}

TEST_CASE("calls fail with NetworkError while the sheep is gone, and recover") {
  auto server =
      std::make_unique<sdtest::FakeServer>([&](int fd) { serve_batches_reversed(fd, 1); });
  REQUIRE(server->ok());
  auto client = sd::SheepClient::connect(server->endpoint());
  REQUIRE(client);
  CHECK(check_read(*client, 1, 10));
  server.reset();  // closes the listener and every connection
  std::vector<char> buf(10);
  CHECK(client->call(read_req(1, 10), nullptr, buf.data()).code() == sd::Res::NetworkError);
  // Nothing listens any more: reconnecting fails too, but cleanly.
  CHECK(client->call(read_req(1, 10), nullptr, buf.data()).code() == sd::Res::NetworkError);
}

TEST_CASE("connect reports a refused connection through errno") {
  uint16_t port;
  {
    sdtest::FakeServer server([](int) {});
    port = server.port();
  }
  sd::Endpoint ep;
  ep.port = port;
  errno = 0;
  auto client = sd::SheepClient::connect(ep);
  CHECK_FALSE(client);
  CHECK(errno == ECONNREFUSED);

  sd::Endpoint unix_ep;
  unix_ep.unix_path = "/nonexistent/sheep/sock";
  CHECK_FALSE(sd::SheepClient::connect(unix_ep));
  CHECK(errno == ENOENT);
  CHECK(unix_ep.str() == "unix:/nonexistent/sheep/sock");
  CHECK(ep.str() == "127.0.0.1:" + std::to_string(port));
}

TEST_CASE("without automatic reconnection, nothing goes out on a new connection before its prologue") {
  // The server logs the order in which requests arrive on each connection.
  std::mutex mu;
  std::vector<std::pair<int, uint64_t>> seen;  // (connection number, oid)
  std::atomic<int> conn{0};
  sdtest::FakeServer server([&](int fd) {
    int me = conn++;
    if (me == 0) {  // the first connection is dropped at once
      shutdown(fd, SHUT_RDWR);
      return;
    }
    for (;;) {
      sd::SdReq req;
      std::vector<char> payload;
      if (!sdtest::recv_req(fd, &req, &payload)) return;
      {
        std::lock_guard<std::mutex> lk(mu);
        seen.push_back({me, req.obj.oid});
      }
      if (!answer(fd, req, payload)) return;
    }
  });
  REQUIRE(server.ok());
  auto client = sd::SheepClient::connect(server.endpoint());
  REQUIRE(client);
  client->set_auto_reconnect(false);
  std::vector<char> buf(16);
  // The connection fails, and stays failed: no call reconnects by itself.
  CHECK(client->call(read_req(1, 16), nullptr, buf.data()).code() == sd::Res::NetworkError);
  CHECK(client->call(read_req(2, 16), nullptr, buf.data()).code() == sd::Res::NetworkError);
  CHECK(server.accepted() == 1);
  // Another thread calls while the prologue (a slow call) runs on the new
  // connection: its request reaches the server only after the prologue's.
  std::thread other;
  sd::Status st = client->reconnect([&]() -> sd::Status {
    other = std::thread([&] {
      std::vector<char> b(16);
      CHECK(client->call(read_req(7, 16), nullptr, b.data()).ok());
    });
    // Not a synchronisation: without the gate the other call would
    // overtake the prologue's here, and the order below would show it.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::vector<char> p(16);
    return client->exec(read_req(3, 16), nullptr, p.data());
  });
  CHECK(st.ok());
  other.join();
  {
    std::lock_guard<std::mutex> lk(mu);
    REQUIRE(seen.size() == 2);
    CHECK(seen[0] == std::pair<int, uint64_t>{1, 3});
    CHECK(seen[1] == std::pair<int, uint64_t>{1, 7});
  }
  // A prologue that fails leaves the connection failed: no other call gets
  // through on it.
  client->abort();
  st = client->reconnect([&]() -> sd::Status { return sd::err(sd::Res::VdiLocked); });
  CHECK(st.code() == sd::Res::VdiLocked);
  CHECK(client->broken());
  CHECK(client->call(read_req(8, 16), nullptr, buf.data()).code() == sd::Res::NetworkError);
  std::lock_guard<std::mutex> lk(mu);
  CHECK(seen.size() == 2);
}

TEST_CASE("a sheep answering BUFFER_SMALL for ever gets VDI-state buffers of 64 MiB at most") {
  std::atomic<uint32_t> largest{0};
  std::atomic<int> asked{0};
  sdtest::FakeServer server([&](int fd) {
    sd::SdReq req;
    std::vector<char> payload;
    while (sdtest::recv_req(fd, &req, &payload)) {
      asked++;
      if (req.data_length > largest) largest = req.data_length;
      if (!sdtest::send_rsp(fd, req, sd::Res::BufferSmall)) return;
    }
  });
  REQUIRE(server.ok());
  auto client = sd::SheepClient::connect(server.endpoint());
  REQUIRE(client);
  auto states = sd::get_vdi_states(*client);
  CHECK(states.code() == sd::Res::BufferSmall);
  CHECK(largest <= (64u << 20));
  CHECK(asked <= 8);
}
