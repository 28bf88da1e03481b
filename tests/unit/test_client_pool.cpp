// client/client_pool.h: one connection per calling thread, round robin,
// made on first use; the shared client when the pool has one slot or a
// connection cannot be made.
#include <doctest/doctest.h>

#include <set>
#include <thread>
#include <vector>

#include "client/client_pool.h"
#include "fake_sheep.h"

namespace {

// Answers every request with Success and data_length bytes of 0x5a.
void serve(int fd) {
  sd::SdReq req;
  std::vector<char> payload;
  while (sdtest::recv_req(fd, &req, &payload)) {
    std::vector<char> data(req.data_length, 0x5a);
    if (!sdtest::send_rsp(fd, req, sd::Res::Success, data.data(), uint32_t(data.size()))) return;
  }
}

bool read_through(sd::SheepClient& c) {
  char buf[64] = {};
  if (!c.read_obj(0x1234, buf, sizeof(buf), 0).ok()) return false;
  for (char b : buf)
    if (b != 0x5a) return false;
  return true;
}

}  // namespace

TEST_CASE("a pool of one slot is the shared client") {
  sdtest::FakeServer server(serve);
  REQUIRE(server.ok());
  auto shared = sd::SheepClient::connect(server.endpoint());
  REQUIRE(shared);
  sd::ClientPool pool(server.endpoint(), *shared, 1);
  CHECK(&pool.pick() == shared.get());
  CHECK(pool.connections() == 0);
}

TEST_CASE("each thread keeps one connection, given round robin, made on first use") {
  sdtest::FakeServer server(serve);
  REQUIRE(server.ok());
  auto shared = sd::SheepClient::connect(server.endpoint());
  REQUIRE(shared);
  sd::ClientPool pool(server.endpoint(), *shared, 3);
  CHECK(pool.connections() == 0);
  std::vector<sd::SheepClient*> got(6);
  std::vector<int> ok(6, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; i++)
    threads.emplace_back([&, i] {
      sd::SheepClient& c = pool.pick();
      got[i] = &c;
      ok[i] = read_through(c) && &pool.pick() == &c;  // the same one again
    });
  for (auto& t : threads) t.join();
  std::set<sd::SheepClient*> distinct(got.begin(), got.end());
  CHECK(distinct.size() == 3);
  CHECK(distinct.count(shared.get()) == 0);
  for (int i = 0; i < 6; i++) CHECK(ok[i] == 1);
  CHECK(pool.connections() == 3);
}

TEST_CASE("a connection that cannot be made falls back to the shared client") {
  auto server = std::make_unique<sdtest::FakeServer>(serve);
  REQUIRE(server->ok());
  sd::Endpoint ep = server->endpoint();
  auto shared = sd::SheepClient::connect(ep);
  REQUIRE(shared);
  server.reset();  // nothing listens any more
  sd::ClientPool pool(ep, *shared, 4);
  CHECK(&pool.pick() == shared.get());
  CHECK(pool.connections() == 0);
}
