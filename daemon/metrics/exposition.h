// TextExposition: builds a page in the Prometheus text exposition format,
// version 0.0.4 (docs/METRICS.md): a "# HELP" and a "# TYPE" line before
// each family's samples, label values and help texts escaped, integers
// printed exactly, histograms as cumulative _bucket{le=...} samples with
// _sum and _count.
//
// It owns only the formatting; what is measured is the caller's. Used on
// the metrics endpoint's thread, never on the request path.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "metrics/histogram.h"

namespace sd::metrics {

// Content-Type of a page.
inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

using Label = std::pair<std::string_view, std::string_view>;
using Labels = std::initializer_list<Label>;

// What a family is (its # TYPE).
enum class Kind { Counter, Gauge, Histogram };

class TextExposition {
 public:
  // Starts a family: its help and type lines. Samples of the family follow.
  void family(std::string_view name, Kind kind, std::string_view help);
  void sample(std::string_view name, Labels labels, uint64_t value);
  void sample(std::string_view name, Labels labels, double value);
  // A histogram's samples (name without the _bucket/_sum/_count suffixes);
  // `labels` are added to each, before le.
  void histogram(std::string_view name, Labels labels, const LatencyHistogram::Snapshot& s);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void series(std::string_view name, std::string_view suffix, Labels labels,
              std::string_view le = {});

  std::string out_;
};

// Escapes a label value: backslash, double quote and newline.
std::string escape_label_value(std::string_view v);
// Escapes a help text: backslash and newline.
std::string escape_help(std::string_view v);
// A float as the format writes it: "+Inf", "-Inf", "NaN" or the shortest
// decimal that reads back the same.
std::string format_double(double v);
// A bucket bound in nanoseconds as seconds for le ("0.00025", "1", "2.5").
std::string seconds_text(uint64_t ns);
// True when `name` is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*).
bool valid_metric_name(std::string_view name);
// True when `name` is a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not
// starting with "__").
bool valid_label_name(std::string_view name);

}  // namespace sd::metrics
