// size.h: dog's size parsing and printing (docs/CLI.md §2.2).
#include <doctest/doctest.h>

#include <cstdint>

#include "size.h"

namespace {

bool parses(const char* text, uint64_t want) {
  uint64_t v = 0;
  return sd::parse_size(text, &v) && v == want;
}

bool rejects(const char* text) {
  uint64_t v = 0;
  return !sd::parse_size(text, &v);
}

const uint64_t KiB = 1ull << 10, MiB = 1ull << 20, GiB = 1ull << 30, TiB = 1ull << 40,
               PiB = 1ull << 50;

}  // namespace

TEST_CASE("parse_size: binary units, one optional suffix, any case") {
  CHECK(parses("1.5G", 1610612736ull));
  CHECK(parses("0.5k", 512));
  CHECK(parses("100", 100));
  CHECK(parses("100B", 100));
  CHECK(parses("4K", 4 * KiB));
  CHECK(parses("10m", 10 * MiB));
  CHECK(parses("2G", 2 * GiB));
  CHECK(parses("4t", 4 * TiB));
  CHECK(parses("16P", 16 * PiB));
  CHECK(parses("1.9", 1));  // truncated
}

TEST_CASE("parse_size: rejects") {
  CHECK(rejects("10X"));
  CHECK(rejects("5Q"));
  CHECK(rejects("1GG"));
  CHECK(rejects(""));
  CHECK(rejects("G"));
  CHECK(rejects("abc"));
  CHECK(rejects("-1"));
  CHECK(rejects("16384P"));  // 2^64: does not fit
}

TEST_CASE("format_size: MB is the smallest unit") {
  CHECK(sd::format_size(512) == "0.0 MB");
  CHECK(sd::format_size(0) == "0.0 MB");
  CHECK(sd::format_size(4 * MiB) == "4.0 MB");
  CHECK(sd::format_size(12 * MiB) == "12 MB");
  CHECK(sd::format_size(100 * MiB) == "100 MB");
  CHECK(sd::format_size(976 * MiB) == "976 MB");
  CHECK(sd::format_size(4 * GiB) == "4.0 GB");
  CHECK(sd::format_size(3 * GiB / 2) == "1.5 GB");
  CHECK(sd::format_size(uint64_t(2.2 * double(GiB))) == "2.2 GB");
  CHECK(sd::format_size(4 * TiB) == "4.0 TB");
  CHECK(sd::format_size(16 * PiB) == "16 PB");
}

TEST_CASE("format_size: raw prints bytes") {
  CHECK(sd::format_size(512, true) == "512");
  CHECK(sd::format_size(4 * GiB, true) == "4294967296");
  CHECK(sd::format_size(0, true) == "0");
}

TEST_CASE("parse_u64: digits only, in range") {
  uint64_t v = 0;
  CHECK(sd::parse_u64("7000", 65535, &v));
  CHECK(v == 7000);
  CHECK(sd::parse_u64("65535", 65535, &v));
  CHECK_FALSE(sd::parse_u64("65536", 65535, &v));
  CHECK_FALSE(sd::parse_u64("", 65535, &v));
  CHECK_FALSE(sd::parse_u64("12a", 65535, &v));
  CHECK_FALSE(sd::parse_u64("-1", 65535, &v));
  CHECK_FALSE(sd::parse_u64("99999999999999999999999", UINT64_MAX, &v));
}
