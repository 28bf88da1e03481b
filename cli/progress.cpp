// dog's progress bar: the line's layout, the redraw throttle, and the one
// bar on screen that err() may need to step off (progress.h).
#include "progress.h"

#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "size.h"

namespace dog {

namespace {

constexpr int kDefaultWidth = 80;
constexpr size_t kMinBarCells = 10;

double monotonic_seconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

int stderr_columns() {
  winsize ws{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0) return kDefaultWidth;
  return ws.ws_col;
}

// The bar on screen, for progress_end_line().
std::mutex g_screen_mu;
ProgressBar* g_on_screen = nullptr;

void put_on_screen(ProgressBar* bar) {
  std::lock_guard<std::mutex> lk(g_screen_mu);
  g_on_screen = bar;
}

void take_off_screen(ProgressBar* bar) {
  std::lock_guard<std::mutex> lk(g_screen_mu);
  if (g_on_screen == bar) g_on_screen = nullptr;
}

// "45.0 %", never 100.0 before the end.
std::string percent_text(uint64_t done, uint64_t total) {
  double tenths = 1000.0;
  if (done < total) tenths = std::min(999.0, std::floor(double(done) * 1000.0 / double(total)));
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%5.1f %%", tenths / 10.0);
  return buf;
}

// cells of '=' for the part done, '>' at the cell in progress, spaces after.
std::string bar_cells(uint64_t done, uint64_t total, size_t cells) {
  if (done >= total) return std::string(cells, '=');
  size_t full = size_t((long double)done * (long double)cells / (long double)total);
  full = std::min(full, cells - 1);
  return std::string(full, '=') + '>' + std::string(cells - full - 1, ' ');
}

std::string right_aligned(const std::string& text, size_t width) {
  return text.size() >= width ? text : std::string(width - text.size(), ' ') + text;
}

}  // namespace

void write_stderr(std::string_view bytes) {
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left) {
    ssize_t w = write(STDERR_FILENO, p, left);
    if (w < 0) return;
    p += w;
    left -= size_t(w);
  }
}

ProgressBar::ProgressBar(uint64_t total, bool raw) : total_(total) {
  if (raw || !isatty(STDERR_FILENO)) return;
  active_ = true;
  sink_ = write_stderr;
  width_ = stderr_columns;
  clock_ = monotonic_seconds;
  start_ = clock_();
  put_on_screen(this);
}

ProgressBar::ProgressBar(uint64_t total, Sink sink, Width width, Clock clock)
    : active_(true),
      total_(total),
      sink_(std::move(sink)),
      width_(std::move(width)),
      clock_(std::move(clock)) {
  start_ = clock_();
  put_on_screen(this);
}

ProgressBar::~ProgressBar() {
  if (!active_) return;
  take_off_screen(this);
  end_line();
}

std::string ProgressBar::render(uint64_t done, uint64_t total, double bytes_per_second,
                                int width) {
  const size_t room = size_t(std::max(width, 2) - 1);
  const std::string done_text = sd::format_size(done);
  const std::string rate =
      sd::format_size(uint64_t(std::max(0.0, bytes_per_second))) + "/s";
  std::string line;
  if (total == kUnknownTotal) {
    line = done_text + "  " + rate;
  } else {
    const std::string head = percent_text(done, total);
    const std::string total_text = sd::format_size(total);
    // With the bar, the numbers that change keep their columns ("1023 MB",
    // "1023 MB/s" at most), so the bar's end does not jitter.
    const std::string tail =
        "] " + right_aligned(done_text, 7) + " / " + total_text + " " + right_aligned(rate, 9);
    const std::string sizes = done_text + " / " + total_text;
    const size_t fixed = head.size() + 2 + tail.size();  // 2: " ["
    if (room >= fixed + kMinBarCells)
      line = head + " [" + bar_cells(done, total, room - fixed) + tail;
    else if (head.size() + 1 + sizes.size() + 2 + rate.size() <= room)
      line = head + " " + sizes + "  " + rate;
    else if (head.size() + 1 + sizes.size() <= room)
      line = head + " " + sizes;
    else
      line = head;
  }
  if (line.size() > room) line.resize(room);
  line.append(room - line.size(), ' ');
  return line;
}

void ProgressBar::draw_locked(double now) {
  const double elapsed = now - start_;
  const double rate = elapsed > 0 ? double(done_) / elapsed : 0.0;
  sink_("\r" + render(done_, total_, rate, width_()));
  last_draw_ = now;
  drawn_ = true;
  line_open_ = true;
}

void ProgressBar::update_locked(uint64_t done) {
  done_ = done;
  // 100 % is finish()'s to draw, once.
  if (finished_ || (total_ != kUnknownTotal && done_ >= total_)) return;
  const double now = clock_();
  // The first draw comes at once, the others at most every
  // kRedrawInterval (after end_line() too: a burst of errors does not
  // bring a bar line between each two).
  if (!drawn_ || now - last_draw_ >= kRedrawInterval) draw_locked(now);
}

void ProgressBar::update(uint64_t done) {
  if (!active_) return;
  std::lock_guard<std::mutex> lk(mu_);
  update_locked(done);
}

void ProgressBar::advance(uint64_t delta) {
  if (!active_) return;
  std::lock_guard<std::mutex> lk(mu_);
  update_locked(done_ + delta);
}

void ProgressBar::set_total(uint64_t total) {
  if (!active_) return;
  std::lock_guard<std::mutex> lk(mu_);
  total_ = total;
}

void ProgressBar::finish() {
  if (!active_) return;
  std::lock_guard<std::mutex> lk(mu_);
  if (finished_) return;
  if (total_ == kUnknownTotal) total_ = done_;
  done_ = total_;
  draw_locked(clock_());
  sink_("\n");
  line_open_ = false;
  finished_ = true;
}

void ProgressBar::end_line() {
  if (!active_) return;
  std::lock_guard<std::mutex> lk(mu_);
  if (!line_open_) return;
  sink_("\n");
  line_open_ = false;
}

void progress_end_line() {
  std::lock_guard<std::mutex> lk(g_screen_mu);
  if (g_on_screen) g_on_screen->end_line();
}

void progress_before_stdout_line() {
  if (isatty(STDOUT_FILENO)) progress_end_line();
}

}  // namespace dog
