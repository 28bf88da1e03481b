// parse_zookeeper_options: upstream's `-c zookeeper:...` syntax, and the
// messages for what does not parse.
#include <doctest/doctest.h>

#include "cluster/driver.h"

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
#endif
