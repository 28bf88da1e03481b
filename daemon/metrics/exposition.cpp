// The Prometheus text format (version 0.0.4), written by hand: the page is
// small and a library would add nothing but a dependency.
#include "metrics/exposition.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace sd::metrics {

namespace {

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::Counter: return "counter";
    case Kind::Gauge: return "gauge";
    case Kind::Histogram: return "histogram";
  }
  return "untyped";
}

bool name_char(char c, bool first, bool colon_ok) {
  bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_ok && c == ':');
  return alpha || (!first && c >= '0' && c <= '9');
}

}  // namespace

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_double(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  // The fewest digits that read back as the same double, but at least the
  // integer part's (so that 10 is not written 1e+01).
  double magnitude = std::fabs(v);
  int first = magnitude >= 1 ? std::min(17, int(std::log10(magnitude)) + 1) : 1;
  for (int prec = first; prec <= 17; prec++) {
    std::snprintf(buf, sizeof(buf), "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string seconds_text(uint64_t ns) { return format_double(double(ns) / 1e9); }

bool valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); i++)
    if (!name_char(name[i], i == 0, true)) return false;
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || name.substr(0, 2) == "__") return false;
  for (size_t i = 0; i < name.size(); i++)
    if (!name_char(name[i], i == 0, false)) return false;
  return true;
}

void TextExposition::family(std::string_view name, Kind kind, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += escape_help(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += kind_name(kind);
  out_ += '\n';
}

void TextExposition::series(std::string_view name, std::string_view suffix, Labels labels,
                            std::string_view le) {
  out_ += name;
  out_ += suffix;
  if (labels.size() == 0 && le.empty()) {
    out_ += ' ';
    return;
  }
  out_ += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out_ += ',';
    first = false;
    out_ += k;
    out_ += "=\"";
    out_ += escape_label_value(v);
    out_ += '"';
  }
  if (!le.empty()) {
    if (!first) out_ += ',';
    out_ += "le=\"";
    out_ += le;
    out_ += '"';
  }
  out_ += "} ";
}

void TextExposition::sample(std::string_view name, Labels labels, uint64_t value) {
  series(name, {}, labels);
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%" PRIu64 "\n", value);
  out_ += buf;
}

void TextExposition::sample(std::string_view name, Labels labels, double value) {
  series(name, {}, labels);
  out_ += format_double(value);
  out_ += '\n';
}

void TextExposition::histogram(std::string_view name, Labels labels,
                               const LatencyHistogram::Snapshot& s) {
  uint64_t cumulative = 0;
  char buf[24];
  for (size_t i = 0; i < LatencyHistogram::kBuckets; i++) {
    cumulative += s.counts[i];
    bool last = i == LatencyHistogram::kBoundsNs.size();
    std::string le = last ? "+Inf" : seconds_text(LatencyHistogram::kBoundsNs[i]);
    series(name, "_bucket", labels, le);
    std::snprintf(buf, sizeof(buf), "%" PRIu64 "\n", cumulative);
    out_ += buf;
  }
  series(name, "_sum", labels);
  out_ += format_double(double(s.sum_us) / 1e6);
  out_ += '\n';
  series(name, "_count", labels);
  std::snprintf(buf, sizeof(buf), "%" PRIu64 "\n", cumulative);
  out_ += buf;
}

}  // namespace sd::metrics
