// parse_zookeeper_options: upstream's `-c zookeeper:...` syntax, and the
// messages for what does not parse; and the names the transport reads
// back from znodes, which anyone with access to the path can forge.
#include <doctest/doctest.h>

#include "cluster/driver.h"
#ifdef SD_HAVE_ZOOKEEPER
#include "cluster/zookeeper_znodes.h"
#endif

#ifdef SD_HAVE_ZOOKEEPER
namespace {

sd::ZooKeeperOptions parsed(const std::string& text) {
  sd::ZooKeeperOptions o;
  std::string why;
  REQUIRE(sd::parse_zookeeper_options(text, &o, &why));
  return o;
}

std::string refusal(const std::string& text) {
  sd::ZooKeeperOptions o;
  std::string why;
  CHECK_FALSE(sd::parse_zookeeper_options(text, &o, &why));
  return why;
}

}  // namespace

TEST_CASE("zookeeper options: servers, cluster id and timeout as upstream") {
  auto o = parsed("10.0.0.1:2181,10.0.0.2:2181");
  CHECK(o.hosts == "10.0.0.1:2181,10.0.0.2:2181");
  CHECK(o.path == "/sheepdog");
  CHECK(o.timeout_ms == 3000);
  o = parsed("127.0.0.1:2181/prod,timeout=1000");
  CHECK(o.hosts == "127.0.0.1:2181");
  CHECK(o.path == "/sheepdog/prod");
  CHECK(o.timeout_ms == 1000);
  o = parsed("h1:1,h2:2,h3:3,timeout=600000");
  CHECK(o.hosts == "h1:1,h2:2,h3:3");
  CHECK(o.timeout_ms == 600000);
}

TEST_CASE("zookeeper options: refusals") {
  CHECK(refusal("") == "You must specify zookeeper servers.");
  CHECK(refusal(",timeout=1000") == "You must specify zookeeper servers.");
  for (const char* t : {"-5", "+300", " 300", "99", "600001", "1e4", "", "3000x", "99999999999999999999"})
    CHECK(refusal(std::string("h:1,timeout=") + t) ==
          "Invalid ZooKeeper session timeout '" + std::string(t) +
              "': must be milliseconds between 100 and 600000");
  CHECK(refusal("h:1/") == "Invalid ZooKeeper cluster id ''");
  CHECK(refusal("h:1/a/b") == "Invalid ZooKeeper cluster id 'a/b'");
}

TEST_CASE("zookeeper znodes: sequence numbers") {
  CHECK(sd::znode_seq("m-0000000042") == 42);
  CHECK(sd::znode_seq("q-0000000000") == 0);
  CHECK(sd::znode_seq("a-b-0000000007") == 7);
  for (const char* bad : {"m-", "m", "m-12x", "m--5", "m-99999999999999999999999", "m- 1", ""})
    CHECK(sd::znode_seq(bad) == -1);
}

TEST_CASE("zookeeper znodes: participant ids") {
  CHECK(sd::valid_participant_id("z1"));
  CHECK(sd::valid_participant_id("z0123456789abcdef"));
  for (const char* bad : {"", "z", "z0123456789abcdef0", "zABC", "y12", "z12 ", "z-1", "z1\n"})
    CHECK_FALSE(sd::valid_participant_id(bad));
  CHECK_FALSE(sd::valid_participant_id(std::string("z1\0", 3)));
}
#endif
