// metrics/: latency buckets (and the sum in microseconds), the text format
// (escapes, numbers, histogram lines), the rules every family of the page
// follows (names, types, bounded labels), the opcode labels against the
// daemon's opcode table, the STAT reply computed from the counters (Total
// never going down while requests come and go), and the page cache.
#include <doctest/doctest.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "metrics/exposition.h"
#include "metrics/histogram.h"
#include "metrics/page_cache.h"
#include "metrics/request_metrics.h"
#include "ops/ops.h"

using sd::metrics::CachedPage;
using sd::metrics::LatencyHistogram;
using sd::metrics::RequestMetrics;
using sd::metrics::TextExposition;

namespace {

sd::SdReq req(uint8_t opcode, uint32_t data_length = 0, bool write = false) {
  sd::SdReq h{};
  h.opcode = opcode;
  h.data_length = data_length;
  if (write) h.flags = sd::kFlagWrite;
  return h;
}

void serve(RequestMetrics& m, uint8_t opcode, sd::Res r, uint32_t len = 0, bool write = false,
           uint64_t ns = 1000) {
  sd::SdReq h = req(opcode, len, write);
  m.begin(h);
  m.finish(h, r, ns);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The metric name of a sample line, and its labels as name -> value
// (values unescaped).
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  std::string value;
};

Sample parse_sample(const std::string& line) {
  Sample s;
  size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ') s.name += line[i++];
  if (i < line.size() && line[i] == '{') {
    i++;
    while (i < line.size() && line[i] != '}') {
      std::string k, v;
      while (line[i] != '=') k += line[i++];
      i += 2;  // ="
      while (line[i] != '"') {
        if (line[i] == '\\') {
          i++;
          v += line[i] == 'n' ? '\n' : line[i];
        } else {
          v += line[i];
        }
        i++;
      }
      i++;  // closing quote
      if (line[i] == ',') i++;
      s.labels[k] = v;
    }
    i++;  // }
  }
  s.value = line.substr(i + 1);
  return s;
}

}  // namespace

TEST_CASE("LatencyHistogram: a duration goes in the first bucket whose bound is not below it") {
  CHECK(LatencyHistogram::bucket_of(0) == 0);
  CHECK(LatencyHistogram::bucket_of(100'000) == 0);  // on the bound: that bucket
  CHECK(LatencyHistogram::bucket_of(100'001) == 1);
  CHECK(LatencyHistogram::bucket_of(1'000'000) == 3);
  CHECK(LatencyHistogram::bucket_of(10'000'000'000) == LatencyHistogram::kBoundsNs.size() - 1);
  CHECK(LatencyHistogram::bucket_of(10'000'000'001) == LatencyHistogram::kBoundsNs.size());  // +Inf
  CHECK(LatencyHistogram::bucket_of(UINT64_MAX) == LatencyHistogram::kBoundsNs.size());
  for (size_t i = 1; i < LatencyHistogram::kBoundsNs.size(); i++)
    CHECK(LatencyHistogram::kBoundsNs[i - 1] < LatencyHistogram::kBoundsNs[i]);

  LatencyHistogram h;
  h.observe(50'000);
  h.observe(300'000);
  h.observe(300'000);
  h.observe(20'000'000'000);
  auto s = h.snapshot();
  CHECK(s.counts[0] == 1);
  CHECK(s.counts[2] == 2);  // (250 µs, 500 µs]
  CHECK(s.counts[LatencyHistogram::kBuckets - 1] == 1);
  CHECK(s.count() == 4);
  CHECK(s.sum_us == 50 + 600 + 20'000'000ull);  // microseconds
}

TEST_CASE("LatencyHistogram: the sum counts microseconds, rounded, and holds what ns would wrap") {
  CHECK(LatencyHistogram::to_us(0) == 0);
  CHECK(LatencyHistogram::to_us(499) == 0);
  CHECK(LatencyHistogram::to_us(500) == 1);
  CHECK(LatencyHistogram::to_us(1'499) == 1);
  CHECK(LatencyHistogram::to_us(1'500) == 2);
  LatencyHistogram h;
  h.observe(1'499);
  h.observe(1'500);
  CHECK(h.snapshot().sum_us == 3);
  // 300 days at 100,000 requests a second of 10 ms each: 2.592e10 s of
  // latency, past 2^64 ns (about 1.8e10 s). Observed here as 26 durations
  // of 10^9 s each (the sum is what is tested, not the buckets).
  constexpr uint64_t kLatencySeconds = 300ull * 86400 * 100'000 / 100;
  constexpr uint64_t kChunkSeconds = 1'000'000'000;
  constexpr uint64_t kChunks = (kLatencySeconds + kChunkSeconds - 1) / kChunkSeconds;
  static_assert(kChunks == 26);
  static_assert(kChunks * kChunkSeconds > 18'446'744'073ull);  // 2^64 ns, in seconds
  LatencyHistogram big;
  for (uint64_t i = 0; i < kChunks; i++) big.observe(kChunkSeconds * 1'000'000'000ull);
  CHECK(big.snapshot().sum_us == kChunks * kChunkSeconds * 1'000'000);
  TextExposition page;
  page.histogram("sheepdog_test_seconds", {}, big.snapshot());
  std::string sum_line;
  for (const std::string& l : lines_of(page.text()))
    if (l.rfind("sheepdog_test_seconds_sum ", 0) == 0) sum_line = l;
  CHECK(sum_line == "sheepdog_test_seconds_sum 26000000000");
}

TEST_CASE("TextExposition: histogram lines are cumulative, le in seconds, +Inf equals _count") {
  LatencyHistogram h;
  h.observe(50'000);       // 50 µs
  h.observe(2'000'000);    // 2 ms
  h.observe(60'000'000'000);  // a minute: +Inf only
  TextExposition page;
  page.family("sheepdog_test_seconds", sd::metrics::Kind::Histogram, "Test.");
  page.histogram("sheepdog_test_seconds", {{"op", "read_obj"}}, h.snapshot());
  auto lines = lines_of(page.text());
  REQUIRE(lines.size() == 2 + LatencyHistogram::kBuckets + 2);
  CHECK(lines[0] == "# HELP sheepdog_test_seconds Test.");
  CHECK(lines[1] == "# TYPE sheepdog_test_seconds histogram");
  CHECK(lines[2] == "sheepdog_test_seconds_bucket{op=\"read_obj\",le=\"0.0001\"} 1");
  CHECK(lines[3] == "sheepdog_test_seconds_bucket{op=\"read_obj\",le=\"0.00025\"} 1");
  CHECK(lines[6] == "sheepdog_test_seconds_bucket{op=\"read_obj\",le=\"0.0025\"} 2");
  CHECK(lines[14] == "sheepdog_test_seconds_bucket{op=\"read_obj\",le=\"1\"} 2");
  CHECK(lines[15] == "sheepdog_test_seconds_bucket{op=\"read_obj\",le=\"2.5\"} 2");
  CHECK(lines[17] == "sheepdog_test_seconds_bucket{op=\"read_obj\",le=\"10\"} 2");
  CHECK(lines[18] == "sheepdog_test_seconds_bucket{op=\"read_obj\",le=\"+Inf\"} 3");
  CHECK(lines[19] == "sheepdog_test_seconds_sum{op=\"read_obj\"} 60.00205");
  CHECK(lines[20] == "sheepdog_test_seconds_count{op=\"read_obj\"} 3");
}

TEST_CASE("TextExposition: label values and help texts are escaped, numbers printed exactly") {
  CHECK(sd::metrics::escape_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
  CHECK(sd::metrics::escape_label_value("/var/lib/sheep/obj") == "/var/lib/sheep/obj");
  CHECK(sd::metrics::escape_help("x\\y\nz \"q\"") == "x\\\\y\\nz \"q\"");  // quotes stay in help
  TextExposition page;
  page.family("sheepdog_disk_objects", sd::metrics::Kind::Gauge, "Line one\nline two");
  page.sample("sheepdog_disk_objects", {{"disk", "/d\"1\\\n"}}, uint64_t(18446744073709551615ull));
  page.sample("sheepdog_disk_objects", {}, 0.5);
  CHECK(page.text() ==
        "# HELP sheepdog_disk_objects Line one\\nline two\n"
        "# TYPE sheepdog_disk_objects gauge\n"
        "sheepdog_disk_objects{disk=\"/d\\\"1\\\\\\n\"} 18446744073709551615\n"
        "sheepdog_disk_objects 0.5\n");
  Sample s = parse_sample(lines_of(page.text())[2]);
  CHECK(s.labels["disk"] == "/d\"1\\\n");  // reads back as it was

  CHECK(sd::metrics::format_double(0.00025) == "0.00025");
  CHECK(sd::metrics::format_double(1) == "1");
  CHECK(sd::metrics::format_double(2.5) == "2.5");
  CHECK(sd::metrics::format_double(10) == "10");  // not 1e+01
  CHECK(sd::metrics::format_double(123456.5) == "123456.5");
  CHECK(sd::metrics::format_double(0.1 + 0.2) == "0.30000000000000004");
  constexpr double inf = std::numeric_limits<double>::infinity();
  CHECK(sd::metrics::format_double(inf) == "+Inf");
  CHECK(sd::metrics::format_double(-inf) == "-Inf");
  CHECK(sd::metrics::format_double(std::numeric_limits<double>::quiet_NaN()) == "NaN");
  CHECK(sd::metrics::seconds_text(100'000) == "0.0001");
  CHECK(sd::metrics::seconds_text(10'000'000'000) == "10");

  CHECK(sd::metrics::valid_metric_name("sheepdog_epoch"));
  CHECK(sd::metrics::valid_metric_name("a:b_c9"));
  CHECK_FALSE(sd::metrics::valid_metric_name("9lives"));
  CHECK_FALSE(sd::metrics::valid_metric_name("sheep-dog"));
  CHECK_FALSE(sd::metrics::valid_metric_name(""));
  CHECK(sd::metrics::valid_label_name("op"));
  CHECK_FALSE(sd::metrics::valid_label_name("__name__"));
  CHECK_FALSE(sd::metrics::valid_label_name("a:b"));
}

TEST_CASE("RequestMetrics: every family follows the naming rules and the label sets stay bounded") {
  RequestMetrics m;
  // Every opcode with every result code, and codes the protocol lacks.
  for (int op = 0; op < 256; op++)
    for (uint32_t code : {0u, 2u, 5u, 0x1Bu, 0x86u, 0xA1u, 0xFFu, 0x12345u})
      serve(m, uint8_t(op), sd::Res(code), 10, op % 2 == 0);
  TextExposition page;
  m.render(page);
  std::map<std::string, std::string> type_of;  // family -> type
  std::set<std::string> helped;
  std::set<std::pair<std::string, std::string>> op_result;
  std::set<std::string> series;
  std::set<std::string> known_ops{"other"};
  for (const auto& op : sd::metrics::op_labels()) known_ops.insert(op.label);
  for (const std::string& line : lines_of(page.text())) {
    if (line.rfind("# HELP ", 0) == 0) {
      std::string name = line.substr(7, line.find(' ', 7) - 7);
      CHECK_MESSAGE(helped.insert(name).second, "family described twice: ", name);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::string rest = line.substr(7);
      std::string name = rest.substr(0, rest.find(' '));
      std::string type = rest.substr(rest.find(' ') + 1);
      CHECK(helped.count(name));  // HELP first
      CHECK(type_of.emplace(name, type).second);
      CHECK(sd::metrics::valid_metric_name(name));
      CHECK(name.rfind("sheepdog_", 0) == 0);
      bool total = name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
      CHECK_MESSAGE(total == (type == "counter"), "counters and only counters end in _total: ", name);
      if (type == "histogram")
        CHECK_MESSAGE(name.compare(name.size() - 8, 8, "_seconds") == 0, name);
      continue;
    }
    Sample s = parse_sample(line);
    std::string family = s.name;
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      if (!type_of.count(family) && family.size() > strlen(suffix) &&
          family.compare(family.size() - strlen(suffix), strlen(suffix), suffix) == 0)
        family.resize(family.size() - strlen(suffix));
    REQUIRE_MESSAGE(type_of.count(family), "sample before its family: ", line);
    CHECK(series.insert(line.substr(0, line.rfind(' '))).second);  // no series twice
    for (const auto& [k, v] : s.labels) CHECK(sd::metrics::valid_label_name(k));
    if (s.labels.count("op")) CHECK_MESSAGE(known_ops.count(s.labels["op"]), s.labels["op"]);
    if (s.labels.count("result")) op_result.insert({s.labels["op"], s.labels["result"]});
    CHECK(s.value.find_first_not_of("0123456789.e+-Inf") == std::string::npos);
  }
  // Unknown opcodes and result codes fold into "other".
  CHECK(op_result.count({"other", "other"}));
  CHECK(op_result.count({"other", "invalid_parms"}));
  CHECK(op_result.count({"read_obj", "other"}));
  CHECK(op_result.count({"read_peer", "network_error"}));
  CHECK(op_result.size() <= (sd::metrics::op_labels().size() + 1) * 7);
  CHECK(type_of["sheepdog_client_requests_total"] == "counter");
  CHECK(type_of["sheepdog_peer_io_duration_seconds"] == "histogram");
  CHECK(type_of["sheepdog_client_io_in_flight"] == "gauge");
}

TEST_CASE("op labels: one per opcode the daemon answers, its name in lower case") {
  std::set<std::string> seen;
  for (int opcode = 0; opcode < 256; opcode++) {
    const sd::OpInfo* op = sd::find_op(uint8_t(opcode));
    const sd::metrics::OpLabel* label = sd::metrics::op_label(uint8_t(opcode));
    CAPTURE(opcode);
    REQUIRE((op == nullptr) == (label == nullptr));
    if (!op) continue;
    std::string lower = op->name;
    for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
    CHECK(std::string(label->label) == lower);
    CHECK(seen.insert(label->label).second);
    bool peer_io = op->kind == sd::OpKind::Peer;
    CHECK((label->side == sd::metrics::Side::Peer) == peer_io);
  }
  CHECK(std::string(sd::metrics::result_label(0)) == "success");
  CHECK(std::string(sd::metrics::result_label(0x86)) == "network_error");
  CHECK(std::string(sd::metrics::result_label(0x1B)) == "other");   // not a code
  CHECK(std::string(sd::metrics::result_label(0x100)) == "other");
}

TEST_CASE("RequestMetrics: STAT counts client and peer I/O as upstream's columns have them") {
  RequestMetrics m;
  for (int i = 0; i < 3; i++) serve(m, sd::kOpWriteObj, sd::Res::Success, 100, true);
  serve(m, sd::kOpCreateAndWriteObj, sd::Res::Success, 4096, true);
  serve(m, sd::kOpReadObj, sd::Res::Success, 50);
  serve(m, sd::kOpReadObj, sd::Res::NoObj, 50);  // answered, whatever the result
  serve(m, sd::kOpRemoveObj, sd::Res::Success);
  serve(m, sd::kOpFlushVdi, sd::Res::Success);
  serve(m, sd::kOpGetNodeList, sd::Res::Success, 1000);  // not I/O: not in STAT
  serve(m, 0x77, sd::Res::InvalidParms, 64, true);       // unknown: not in STAT
  serve(m, sd::kOpWritePeer, sd::Res::Success, 300, true);
  serve(m, sd::kOpCreateAndWritePeer, sd::Res::Success, 200, true);
  serve(m, sd::kOpReadPeer, sd::Res::Success, 70);
  serve(m, sd::kOpRemovePeer, sd::Res::Success);
  sd::SdReq busy = req(sd::kOpReadPeer, 8);  // being served
  m.begin(busy);

  sd::SdStat s = m.stat();
  CHECK(s.gway_active == 0);
  CHECK(s.gway_total == 8);
  CHECK(s.gway_write == 4);
  CHECK(s.gway_read == 2);
  CHECK(s.gway_remove == 1);
  CHECK(s.gway_flush == 1);
  CHECK(s.gway_rx == 3 * 100 + 4096);
  CHECK(s.gway_tx == 100);
  CHECK(s.peer_active == 1);
  CHECK(s.peer_total == 5);  // four answered and the one in flight
  CHECK(s.peer_write == 2);
  CHECK(s.peer_read == 1);
  CHECK(s.peer_remove == 1);
  CHECK(s.peer_rx == 500);
  CHECK(s.peer_tx == 78);
  CHECK(m.answered(0x77, sd::Res::InvalidParms) == 1);
  CHECK(m.answered(0x78, sd::Res::InvalidParms) == 1);  // the same "other" row

  m.finish(busy, sd::Res::Success, 5'000'000);
  s = m.stat();
  CHECK(s.peer_active == 0);
  CHECK(s.peer_total == 5);
  CHECK(s.peer_read == 2);
}

TEST_CASE("RequestMetrics: counts from many threads at once add up exactly") {
  RequestMetrics m;
  constexpr int kThreads = 4, kEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++)
    threads.emplace_back([&m] {
      for (int i = 0; i < kEach; i++) serve(m, sd::kOpWriteObj, sd::Res::Success, 512, true);
    });
  for (auto& t : threads) t.join();
  sd::SdStat s = m.stat();
  CHECK(s.gway_write == uint64_t(kThreads) * kEach);
  CHECK(s.gway_rx == uint64_t(kThreads) * kEach * 512);
  CHECK(s.gway_active == 0);
  CHECK(m.answered(sd::kOpWriteObj, sd::Res::Success) == uint64_t(kThreads) * kEach);
}

TEST_CASE("RequestMetrics: STAT's Total never goes down while requests begin and finish") {
  // Three phases, a reader sampling STAT throughout: requests begin (and
  // stay in flight), then they all finish while none begins, then both
  // at once. Total is the number of begin() calls so far: it never goes
  // down, and while requests only finish it does not move at all (a Total
  // made of answered + in flight, read as two loads, moves up and back).
  RequestMetrics m;
  constexpr int kThreads = 3, kEach = 20000;
  constexpr uint64_t kBegun = uint64_t(kThreads) * kEach;
  std::atomic<int> phase{0};  // 1: begin, 2: finish, 3: both, 4: done
  std::atomic<uint64_t> decreases{0}, moved_while_finishing{0}, finishing_samples{0};
  std::thread reader([&] {
    uint64_t last = 0;
    for (int p; (p = phase.load()) != 4;) {
      sd::SdStat s = m.stat();
      uint64_t total = s.gway_total + s.peer_total;
      if (total < last) decreases++;
      last = total;
      if (p == 2) {
        finishing_samples++;
        if (total != kBegun) moved_while_finishing++;
      }
    }
  });
  auto header = [](int t) { return req(t % 2 ? sd::kOpReadPeer : sd::kOpWriteObj, 8, t % 2 == 0); };
  auto run_all = [&](auto&& body) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++) threads.emplace_back([&body, t] { body(t); });
    for (auto& th : threads) th.join();
  };
  phase = 1;
  run_all([&](int t) {
    for (int i = 0; i < kEach; i++) m.begin(header(t));
  });
  CHECK(m.stat().gway_total + m.stat().peer_total == kBegun);
  phase = 2;
  // The reader samples this phase at least once, however the threads are
  // scheduled (a loaded machine could otherwise run the whole phase first).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (finishing_samples.load() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  run_all([&](int t) {
    for (int i = 0; i < kEach; i++) m.finish(header(t), sd::Res::Success, 1000);
  });
  CHECK(m.stat().gway_active + m.stat().peer_active == 0);
  phase = 3;
  run_all([&](int t) {
    for (int i = 0; i < kEach; i++) {
      m.begin(header(t));
      m.finish(header(t), sd::Res::Success, 1000);
    }
  });
  phase = 4;
  reader.join();
  CHECK(finishing_samples.load() > 0);
  CHECK(moved_while_finishing.load() == 0);
  CHECK(decreases.load() == 0);
  // Exactly the begin() calls, on each side (threads 0 and 2 clients, 1 peer).
  sd::SdStat s = m.stat();
  CHECK(s.gway_total == 2 * 2ull * kEach);
  CHECK(s.peer_total == 2 * 1ull * kEach);
  CHECK(s.gway_write == 2 * 2ull * kEach);
  CHECK(s.peer_read == 2 * 1ull * kEach);
}

TEST_CASE("CachedPage: pages asked for within the lifetime are the same bytes; then a new one") {
  using Clock = CachedPage::Clock;
  Clock::time_point now{std::chrono::seconds(1000)};
  int made = 0;
  int counter = 0;  // what the page shows: moves between requests
  CachedPage cache(
      std::chrono::seconds(1), [&] { made++; return "counter " + std::to_string(counter) + "\n"; },
      [&] { return now; });
  counter = 5;
  std::string first = cache.get();
  CHECK(first == "counter 5\n");
  CHECK(made == 1);
  counter = 9;  // the counters moved...
  now += std::chrono::milliseconds(999);
  CHECK(cache.get() == first);  // ... but within the lifetime: the same bytes
  CHECK(cache.get() == first);
  CHECK(made == 1);
  now += std::chrono::milliseconds(1);  // a second after it was made
  CHECK(cache.get() == "counter 9\n");
  CHECK(made == 2);
  counter = 10;
  now += std::chrono::milliseconds(500);
  CHECK(cache.get() == "counter 9\n");
  now += std::chrono::seconds(3600);
  CHECK(cache.get() == "counter 10\n");
  CHECK(made == 3);
}

TEST_CASE("CachedPage: a slow page is aged from when it was done, and made once for all waiting") {
  using Clock = CachedPage::Clock;
  std::atomic<int64_t> now_ms{0};
  std::atomic<int> made{0};
  CachedPage cache(
      std::chrono::seconds(1),
      [&] {
        made++;
        now_ms += 5000;  // the making takes 5 s (a disk scan)
        return std::string("page");
      },
      [&] { return Clock::time_point{std::chrono::milliseconds(now_ms.load())}; });
  CHECK(cache.get() == "page");
  CHECK(made == 1);
  now_ms += 999;  // 5.999 s after it was asked for, 0.999 s after it was done
  CHECK(cache.get() == "page");
  CHECK(made == 1);
  // Many threads at once, the clock stopped: one page made, all get it.
  now_ms += 1000;
  std::vector<std::thread> threads;
  std::atomic<int> same{0};
  for (int i = 0; i < 8; i++)
    threads.emplace_back([&] { same += cache.get() == "page"; });
  for (auto& t : threads) t.join();
  CHECK(same == 8);
  CHECK(made == 2);
}
