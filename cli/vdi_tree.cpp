// dog vdi tree / vdi graph: the snapshot and clone family of every VDI.
//
// Both walk the live VDIs in vid order (vdi_inventory.h). A VDI's parent is
// its parent_vdi_id: for tree only when the parent is live and has the same
// name (so a clone starts its own tree), for graph always (an edge from
// "0", the root, when there is none).
//
// tree draws each family as text:
//   test---[2026-11-25 14:12]-+-[2026-11-25 14:12]---(you are here)
//                             `-[2026-11-25 14:13]
// A first child follows its parent's label with "---" (only child) or
// "-+-"; later children start a new line indented to the parent's "+",
// with "|-" (more siblings follow) or "`-" (the last), and every column of
// an ancestor that still has siblings to come shows "|".
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "proto/inode.h"
#include "size.h"
#include "vdi.h"
#include "vdi_inventory.h"

namespace dog {

namespace {

struct VdiNode {
  uint32_t vid;
  std::string name;
  uint32_t parent;
  bool snapshot;
  uint32_t snap_id;
  uint64_t size;
  uint64_t create_time;
  std::vector<size_t> children;  // indices into the list, vid order
};

sd::Status load_vdis(const Context& ctx, std::vector<VdiNode>* out) {
  return for_each_vdi(ctx.ep, [&](uint32_t vid, const InodeHead& head) {
    const sd::InodeHeader& h = head.hdr;
    char name[sd::kMaxVdiLen + 1] = {};
    std::memcpy(name, h.name, sd::kMaxVdiLen);
    out->push_back({vid,
                    name,
                    h.parent_vdi_id,
                    sd::inode_is_snapshot(h),
                    h.snap_id,
                    h.vdi_size,
                    h.create_time,
                    {}});
  });
}

std::string format_time(uint64_t ts, const char* fmt) {
  time_t t = time_t(ts >> 32);
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), fmt, &tm);
  return buf;
}

// ---- vdi tree -------------------------------------------------------------

class TreePrinter {
 public:
  TreePrinter(const std::vector<VdiNode>& vdis, bool highlight)
      : vdis_(vdis), highlight_(highlight) {}

  void print_root(size_t root) {
    std::string name = vdis_[root].name;
    std::fputs(name.c_str(), stdout);
    print_children({root}, std::string(name.size(), ' '));
  }

 private:
  std::string label(const VdiNode& v) const {
    if (v.snapshot) return "[" + format_time(v.create_time, "%Y-%m-%d %H:%M") + "]";
    return "(you are here)";
  }

  // The cursor is just after a label; prefix is what a continuation line
  // prints up to that column.
  void print_children(const std::vector<size_t>& children, const std::string& prefix) {
    if (children.empty()) {
      std::printf("\n");
      return;
    }
    const size_t n = children.size();
    for (size_t i = 0; i < n; i++) {
      bool last = i + 1 == n;
      if (i == 0)
        std::fputs(n == 1 ? "---" : "-+-", stdout);
      else
        std::printf("%s %s", prefix.c_str(), last ? "`-" : "|-");
      const VdiNode& child = vdis_[children[i]];
      std::string text = label(child);
      if (highlight_ && !child.snapshot)
        std::printf("\033[1m%s\033[0m", text.c_str());
      else
        std::fputs(text.c_str(), stdout);
      std::string next = prefix + (n == 1 || last ? "   " : " | ") + std::string(text.size(), ' ');
      print_children(child.children, next);
    }
  }

  const std::vector<VdiNode>& vdis_;
  bool highlight_;
};

}  // namespace

int vdi_tree(Context& ctx) {
  std::vector<VdiNode> vdis;
  if (!load_vdis(ctx, &vdis).ok()) return kExitSysfail;
  std::map<uint32_t, size_t> by_vid;
  for (size_t i = 0; i < vdis.size(); i++) by_vid[vdis[i].vid] = i;
  std::vector<size_t> roots;
  for (size_t i = 0; i < vdis.size(); i++) {
    auto it = vdis[i].parent ? by_vid.find(vdis[i].parent) : by_vid.end();
    if (it != by_vid.end() && vdis[it->second].name == vdis[i].name)
      vdis[it->second].children.push_back(i);
    else
      roots.push_back(i);
  }
  TreePrinter printer(vdis, !ctx.raw && isatty(STDOUT_FILENO));
  for (size_t r : roots) printer.print_root(r);
  return kExitSuccess;
}

// ---- vdi graph ------------------------------------------------------------

int vdi_graph(Context& ctx) {
  std::vector<VdiNode> vdis;
  if (!load_vdis(ctx, &vdis).ok()) return kExitSysfail;
  std::printf("digraph G {\n");
  std::printf("  node [shape = \"box\", fontname = \"Courier\"];\n\n");
  std::printf("  \"0\" [shape = \"ellipse\", label = \"root\"];\n\n");
  for (const auto& v : vdis) {
    std::string size = sd::format_size(v.size);
    std::string date = format_time(v.create_time, "%Y-%m-%d");
    std::string time = format_time(v.create_time, "%H:%M:%S");
    std::printf("  \"%x\" -> \"%x\";\n", v.parent, v.vid);
    std::printf("  \"%x\" [\n", v.vid);
    std::printf("    group = \"%s\",\n", v.name.c_str());
    std::printf("    label = \"Name: %10s\\nTag:  %10x\\nSize: %10s\\nDate: %10s\\nTime: %10s",
                v.name.c_str(), v.snapshot ? v.snap_id : 0u, size.c_str(), date.c_str(),
                time.c_str());
    if (v.snapshot)
      std::printf("\"\n  ];\n\n");
    else
      std::printf("\",\n    color=\"red\"\n  ];\n\n");
  }
  std::printf("}\n");
  return kExitSuccess;
}

}  // namespace dog
