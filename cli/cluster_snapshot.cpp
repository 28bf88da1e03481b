// dog cluster snapshot: placeholder until the farm is written.
#include "dog.h"

namespace dog {

namespace {
int snapshot_unsupported(Context&) {
  err("cluster snapshot is not supported yet");
  return kExitFailure;
}
}  // namespace

const Subcommand kClusterSnapshotSubs[] = {
    {"save", nullptr, nullptr, "save snapshot to localpath", kNeedArg | kNeedNodelist,
     snapshot_unsupported},
    {"list", nullptr, nullptr, "list snapshot of localpath", kNeedArg, snapshot_unsupported},
    {"load", nullptr, nullptr, "load snapshot from localpath", kNeedArg, snapshot_unsupported},
    {"show", nullptr, nullptr, "show vdis in the snapshot", kNeedArg, snapshot_unsupported},
};
const size_t kNrClusterSnapshotSubs = sizeof(kClusterSnapshotSubs) / sizeof(kClusterSnapshotSubs[0]);

}  // namespace dog
