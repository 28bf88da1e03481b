// Sizes as dog parses and prints them (docs/CLI.md §2.2): binary units, one
// optional suffix B/K/M/G/T/P, and printing with MB as the smallest unit.
#pragma once
#include <cstdint>
#include <string>

namespace sd {

// "1.5G" -> 1610612736. False for anything upstream rejects.
bool parse_size(const char* text, uint64_t* out);

// upstream's strnumber: "%.1f MB" below 10, "%.0f GB" otherwise; raw mode
// prints decimal bytes.
std::string format_size(uint64_t bytes, bool raw = false);

// Strict decimal parsing as upstream's str_to_u32/u16: the whole string
// must be digits (after an optional sign strtoll accepts), in range.
bool parse_u64(const char* text, uint64_t max, uint64_t* out);

}  // namespace sd
