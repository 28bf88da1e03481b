// dog's progress bar for long work (vdi read/write/check/backup/restore,
// cluster check, cluster snapshot save/load).
//
// Owns the drawing of one line on stderr:
//
//    45.0 % [===============>                  ]  180 MB / 400 MB   12 MB/s
//
// the percentage, a bar filling whatever the terminal width leaves, the
// bytes done and the total (in dog's size units, docs/CLI.md §2.2) and the
// average rate. The line is redrawn in place ("\r") at most ten times a
// second, drawn once more at 100 % by finish(), which ends it with a
// newline. Upstream's dog draws the same shape on stdout for vdi check
// (docs/CLI.md, vdi check); ours goes to stderr so that stdout keeps only
// the command's output.
//
// A bar is shown only when stderr is a terminal and -r was not given; any
// other bar is inert, so callers update it unconditionally. While a bar is
// on screen, progress_end_line() ends its line: err() calls it so that a
// diagnostic starts on a line of its own. Updates may come from several
// threads.
#pragma once
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace dog {

class ProgressBar {
 public:
  using Clock = std::function<double()>;                 // seconds, monotonic
  using Width = std::function<int()>;                    // terminal columns
  using Sink = std::function<void(const std::string&)>;  // where bytes go

  // A total not known yet (set_total() or finish() settles it): the line
  // shows the bytes done and the rate only.
  static constexpr uint64_t kUnknownTotal = UINT64_MAX;

  // The bar of a dog command: drawn on stderr when stderr is a terminal
  // and raw is false, inert otherwise.
  ProgressBar(uint64_t total, bool raw);
  // A bar that always draws, into sink (unit tests).
  ProgressBar(uint64_t total, Sink sink, Width width, Clock clock);
  // Ends a line left open (an early return on error).
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  bool shown() const { return active_; }

  // done bytes so far (absolute), or delta more bytes.
  void update(uint64_t done);
  void advance(uint64_t delta);
  // The amount of work, once known or when it turns out different.
  void set_total(uint64_t total);
  // The work is complete: a last draw at 100 % and a newline.
  void finish();
  // Ends the current line (if anything is drawn on it); the next update
  // draws on a new line.
  void end_line();

  // One line for width columns: percent, bar, done / total, rate; the bar
  // gets what the rest leaves (on narrow terminals the bar goes, then
  // the rate, then the sizes). Never longer than width - 1, padded with spaces to it so a
  // shorter line covers a longer one. kUnknownTotal: no percent, no bar.
  static std::string render(uint64_t done, uint64_t total, double bytes_per_second, int width);

  // The shortest time between two draws.
  static constexpr double kRedrawInterval = 0.1;

 private:
  void draw_locked(double now);
  void update_locked(uint64_t done);

  bool active_ = false;
  uint64_t total_ = 0;
  uint64_t done_ = 0;
  Sink sink_;
  Width width_;
  Clock clock_;
  double start_ = 0;
  double last_draw_ = 0;
  bool drawn_ = false;     // anything drawn yet
  bool line_open_ = false; // the cursor is on the bar's line
  bool finished_ = false;
  std::mutex mu_;
};

// Writes all of bytes to stderr, unbuffered (a failed write drops the rest).
void write_stderr(std::string_view bytes);

// Ends the line of the bar on screen, if any (before an error message).
void progress_end_line();
// The same when stdout is a terminal too, before a line on stdout (which
// would otherwise land in the middle of the bar).
void progress_before_stdout_line();

}  // namespace dog
