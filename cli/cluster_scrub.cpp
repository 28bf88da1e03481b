// dog cluster scrub start [MiB/s] | stop | status: each node's scrubber
// (SCRUB, proto/scrub.h; docs/CLI.md). start and stop go to every node;
// status prints one line per node.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "client/requests.h"
#include "dog.h"
#include "proto/scrub.h"

namespace dog {

namespace {

// One node's SCRUB; false (with a message) when it did not answer.
bool scrub_node(const sd::SdNode& n, sd::ScrubCommand cmd, uint32_t rate, sd::ScrubStatus* st) {
  *st = {};
  sd::SdReq req = sd::request::scrub(uint32_t(cmd), rate, sizeof(*st));
  auto rsp = request(node_endpoint(n), req, nullptr, st);
  if (!rsp.ok()) return false;
  if (sd::Res(rsp->result) != sd::Res::Success) {
    err("%s: %s", sd::node_addr_str(n.nid).c_str(), sd::strerror(sd::Res(rsp->result)));
    return false;
  }
  return true;
}

int scrub_send(Context& ctx, sd::ScrubCommand cmd, uint32_t rate) {
  int rc = kExitSuccess;
  for (const auto& n : ctx.nodes) {
    sd::ScrubStatus st;
    if (!scrub_node(n, cmd, rate, &st)) rc = kExitFailure;
  }
  return rc;
}

int scrub_start(Context& ctx) {
  uint32_t rate = 0;
  if (!ctx.args.empty()) {
    char* end = nullptr;
    unsigned long v = std::strtoul(ctx.args[0].c_str(), &end, 10);
    if (ctx.args[0].empty() || *end || v == 0 || v > 1000000) {
      err("Invalid rate '%s': give MiB/s, 1 to 1000000", ctx.args[0].c_str());
      return kExitUsage;
    }
    rate = uint32_t(v);
  }
  int rc = scrub_send(ctx, sd::ScrubCommand::Start, rate);
  if (rc == kExitSuccess)
    std::printf("Scrubbing started at %u MiB/s per node\n",
                rate ? rate : sd::kScrubDefaultRateMib);
  return rc;
}

int scrub_stop(Context& ctx) {
  int rc = scrub_send(ctx, sd::ScrubCommand::Stop, 0);
  if (rc == kExitSuccess) std::printf("Scrubbing stopped\n");
  return rc;
}

int scrub_status(Context& ctx) {
  if (!ctx.raw)
    std::printf("  Id   Host:Port          State     Passes   Checked/Objects   Found  Repaired"
                "  Unrepaired\n");
  int rc = kExitSuccess;
  for (size_t i = 0; i < ctx.nodes.size(); i++) {
    sd::ScrubStatus st;
    if (!scrub_node(ctx.nodes[i], sd::ScrubCommand::Status, 0, &st)) {
      rc = kExitFailure;
      continue;
    }
    std::string host = sd::node_addr_str(ctx.nodes[i].nid);
    const char* state = st.running ? "running" : "idle";
    auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
    if (ctx.raw) {
      std::printf("%d %s %s %llu %llu %llu %llu %llu %llu\n", int(i), host.c_str(), state,
                  u(st.passes), u(st.checked), u(st.total), u(st.found), u(st.repaired),
                  u(st.unrepaired));
      continue;
    }
    std::string progress = std::to_string(st.checked) + "/" + std::to_string(st.total);
    std::printf("%4d   %-19s%-10s%6llu   %15s%8llu%10llu%12llu\n", int(i), host.c_str(), state,
                u(st.passes), progress.c_str(), u(st.found), u(st.repaired), u(st.unrepaired));
  }
  return rc;
}

}  // namespace

const Subcommand kClusterScrubSubs[] = {
    {"start", nullptr, nullptr, "start a scrub pass on every node ([MiB/s], default 32)",
     kNeedNodelist, scrub_start},
    {"stop", nullptr, nullptr, "stop the scrub pass on every node", kNeedNodelist, scrub_stop},
    {"status", nullptr, nullptr, "show each node's scrubber", kNeedNodelist, scrub_status},
};
const size_t kNrClusterScrubSubs = sizeof(kClusterScrubSubs) / sizeof(kClusterScrubSubs[0]);

}  // namespace dog
