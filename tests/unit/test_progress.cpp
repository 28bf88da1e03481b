// cli/progress.h: dog's progress bar, its line's layout and its redraw
// throttle, driven by a fake clock and a fake terminal width.
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../../cli/progress.h"

namespace {

using dog::ProgressBar;

const uint64_t MiB = 1ull << 20;

// What a bar wrote, one entry per write, with a clock and a width the test
// sets.
struct FakeTerminal {
  std::vector<std::string> writes;
  double now = 0.0;
  int width = 80;

  ProgressBar bar(uint64_t total) {
    return ProgressBar(
        total, [this](const std::string& s) { writes.push_back(s); }, [this] { return width; },
        [this] { return now; });
  }
  size_t draws() const {
    size_t n = 0;
    for (const auto& w : writes) n += !w.empty() && w[0] == '\r';
    return n;
  }
  std::string all() const {
    std::string s;
    for (const auto& w : writes) s += w;
    return s;
  }
};

size_t count(const std::string& s, char c) {
  size_t n = 0;
  for (char x : s) n += x == c;
  return n;
}

}  // namespace

TEST_CASE("render: percent, a bar filling the width, done / total and the rate") {
  std::string line = ProgressBar::render(180 * MiB, 400 * MiB, 12.0 * double(MiB), 80);
  // 79 columns: 9 before the bar, 28 after it, 42 cells, 18 of them done.
  std::string want = " 45.0 % [" + std::string(18, '=') + ">" + std::string(23, ' ') +
                     "]  180 MB / 400 MB   12 MB/s";
  CHECK(line == want);
  CHECK(line.size() == 79);
}

TEST_CASE("render: fitted to any width, never into the last column") {
  for (int width = 2; width <= 300; width++) {
    std::string line = ProgressBar::render(3 * MiB, 7 * MiB, 1.5 * double(MiB), width);
    CHECK(line.size() == size_t(width - 1));
  }
  // Wide: the bar takes the room.
  std::string wide = ProgressBar::render(0, 7 * MiB, 0, 200);
  CHECK(wide.find("[>") != std::string::npos);
  CHECK(wide.find(std::string(150, ' ')) != std::string::npos);
  // Too narrow for a bar of ten cells: the numbers without it.
  std::string mid = ProgressBar::render(180 * MiB, 400 * MiB, 12.0 * double(MiB), 40);
  CHECK(mid == " 45.0 % 180 MB / 400 MB  12 MB/s       ");
  // Narrower: the rate goes too; then the line is cut.
  std::string narrow = ProgressBar::render(180 * MiB, 400 * MiB, 12.0 * double(MiB), 30);
  CHECK(narrow == " 45.0 % 180 MB / 400 MB      ");
  CHECK(ProgressBar::render(180 * MiB, 400 * MiB, 0, 10) == " 45.0 %  ");
}

TEST_CASE("render: 100.0 % only when done, 0.0 % at the start") {
  std::string almost = ProgressBar::render(400 * MiB - 1, 400 * MiB, 0, 80);
  CHECK(almost.substr(0, 9) == " 99.9 % [");
  CHECK(almost.find('>') != std::string::npos);
  std::string done = ProgressBar::render(400 * MiB, 400 * MiB, 0, 80);
  CHECK(done.substr(0, 9) == "100.0 % [");
  CHECK(done.find('>') == std::string::npos);
  CHECK(done.find("=]  400 MB / 400 MB  0.0 MB/s") != std::string::npos);
  std::string start = ProgressBar::render(0, 400 * MiB, 0, 80);
  CHECK(start.substr(0, 10) == "  0.0 % [>");
  // An empty amount of work is complete.
  CHECK(ProgressBar::render(0, 0, 0, 80).substr(0, 7) == "100.0 %");
  // Sizes in dog's units.
  CHECK(ProgressBar::render(3 * (1ull << 30), 8 * (1ull << 30), 0, 80).find("]  3.0 GB / 8.0 GB") !=
        std::string::npos);
}

TEST_CASE("render: the bar keeps its end while the numbers change width") {
  const size_t end = ProgressBar::render(0, 400 * MiB, 0, 80).find(']');
  CHECK(end == 9 + 42);  // 42 cells, as above
  CHECK(ProgressBar::render(4 * MiB, 400 * MiB, 8.2 * double(MiB), 80).find(']') == end);
  CHECK(ProgressBar::render(12 * MiB, 400 * MiB, 13.0 * double(MiB), 80).find(']') == end);
  CHECK(ProgressBar::render(399 * MiB, 400 * MiB, 1000.0 * double(MiB), 80).find(']') == end);
}

TEST_CASE("render: an unknown total shows the bytes and the rate") {
  std::string line = ProgressBar::render(12 * MiB, ProgressBar::kUnknownTotal, 3.0 * double(MiB), 40);
  CHECK(line == "12 MB  3.0 MB/s" + std::string(24, ' '));
}

TEST_CASE("update: the first draw at once, then at most every 0.1 s") {
  FakeTerminal term;
  ProgressBar bar = term.bar(100 * MiB);
  CHECK(bar.shown());
  CHECK(term.draws() == 0);  // nothing before the first update
  bar.update(0);
  CHECK(term.draws() == 1);
  for (int i = 1; i <= 1000; i++) {  // a thousand small objects within 0.09 s
    term.now = 0.09 * i / 1000;
    bar.advance(1024);
  }
  CHECK(term.draws() == 1);
  term.now = 0.1;
  bar.advance(1024);
  CHECK(term.draws() == 2);
  CHECK(term.writes.back().find("1.0 MB / 100 MB") != std::string::npos);
  // Ten seconds of updates every millisecond: about a hundred draws.
  for (int i = 1; i <= 10000; i++) {
    term.now = 0.1 + i * 0.001;
    bar.update(MiB + uint64_t(i) * 1024);
  }
  CHECK(term.draws() >= 95);
  CHECK(term.draws() <= 102);
  CHECK(count(term.all(), '\n') == 0);
}

TEST_CASE("update: the rate is the bytes done over the time since the start") {
  FakeTerminal term;
  ProgressBar bar = term.bar(100 * MiB);
  term.now = 2.0;
  bar.update(24 * MiB);
  CHECK(term.writes.back().find("]   24 MB / 100 MB   12 MB/s") != std::string::npos);
  term.now = 10.0;
  bar.update(25 * MiB);
  CHECK(term.writes.back().find("]   25 MB / 100 MB  2.5 MB/s") != std::string::npos);
}

TEST_CASE("update: each draw takes the width the terminal has now") {
  FakeTerminal term;
  ProgressBar bar = term.bar(100 * MiB);
  bar.update(MiB);
  CHECK(term.writes.back().size() == 1 + 79);
  term.width = 120;
  term.now += 1;
  bar.update(2 * MiB);
  CHECK(term.writes.back().size() == 1 + 119);
}

TEST_CASE("finish: a last draw at 100 % and a newline, once") {
  FakeTerminal term;
  ProgressBar bar = term.bar(64 * MiB);
  bar.update(MiB);
  term.now += 0.01;  // within the throttle: finish draws anyway
  bar.finish();
  REQUIRE(term.writes.size() == 3);
  CHECK(term.writes[1].substr(0, 10) == "\r100.0 % [");
  CHECK(term.writes[1].find("]   64 MB / 64 MB") != std::string::npos);
  CHECK(term.writes[2] == "\n");
  bar.update(2 * MiB);
  bar.finish();
  bar.end_line();
  CHECK(term.writes.size() == 3);
}

TEST_CASE("update: reaching the total leaves the 100 % line to finish()") {
  FakeTerminal term;
  ProgressBar bar = term.bar(8 * MiB);
  bar.update(0);
  term.now = 1.0;
  bar.update(8 * MiB);  // long after the last draw, yet no draw
  CHECK(term.draws() == 1);
  bar.finish();
  CHECK(term.draws() == 2);
  CHECK(count(term.all(), '\n') == 1);
  CHECK(term.writes[1].find("100.0 %") == 1);
  CHECK(term.writes[1].find("8.0 MB/s") != std::string::npos);
}

TEST_CASE("finish: an unknown or changed total becomes what was done") {
  FakeTerminal term;
  {
    ProgressBar bar = term.bar(ProgressBar::kUnknownTotal);
    bar.update(5 * MiB);
    CHECK(term.writes.back().substr(0, 7) == "\r5.0 MB");
    bar.finish();
  }
  CHECK(term.writes[term.writes.size() - 2].find("100.0 % [") != std::string::npos);
  CHECK(term.writes[term.writes.size() - 2].find("]  5.0 MB / 5.0 MB") != std::string::npos);
  ProgressBar bar = term.bar(64 * MiB);
  bar.update(0);
  bar.set_total(12 * MiB);
  bar.finish();
  CHECK(term.writes[term.writes.size() - 2].find("]   12 MB / 12 MB") != std::string::npos);
}

TEST_CASE("end_line: an error message starts on a line of its own") {
  FakeTerminal term;
  auto bar = std::make_unique<ProgressBar>(
      64 * MiB, [&](const std::string& s) { term.writes.push_back(s); }, [&] { return 80; },
      [&] { return term.now; });
  dog::progress_end_line();  // nothing drawn: nothing to end
  CHECK(term.writes.empty());
  bar->update(MiB);
  dog::progress_end_line();  // what err() does first
  CHECK(term.writes.back() == "\n");
  dog::progress_end_line();
  CHECK(term.writes.size() == 2);
  // The bar comes back on the next line, still throttled.
  bar->update(2 * MiB);
  CHECK(term.writes.size() == 2);
  term.now += 0.2;
  bar->update(3 * MiB);
  CHECK(term.writes.size() == 3);
  // Destroyed with its line open (an early return): the line is ended,
  // and the bar is no longer on screen.
  bar.reset();
  CHECK(term.writes.back() == "\n");
  CHECK(term.writes.size() == 4);
  dog::progress_end_line();
  CHECK(term.writes.size() == 4);
}

TEST_CASE("a bar with -r is inert") {
  ProgressBar bar(64 * MiB, true);
  CHECK_FALSE(bar.shown());
  bar.update(MiB);
  bar.finish();
}
