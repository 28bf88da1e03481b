// sd_strerror texts (the printed interface) and errno mapping.
#include "proto/results.h"

#include <cerrno>
#include <cstdio>

namespace sd {

const char* strerror(Res r) {
  switch (r) {
    case Res::Success: return "Success";
    case Res::Unknown: return "Unknown error";
    case Res::NoObj: return "No object found";
    case Res::Eio: return "I/O error";
    case Res::VdiExist: return "VDI exists already";
    case Res::InvalidParms: return "Invalid parameters";
    case Res::SystemError: return "System error";
    case Res::VdiLocked: return "VDI is already locked";
    case Res::NoVdi: return "No VDI found";
    case Res::NoBaseVdi: return "No base VDI found";
    case Res::VdiRead: return "Failed to read from requested VDI";
    case Res::VdiWrite: return "Failed to write to requested VDI";
    case Res::BaseVdiRead: return "Failed to read from base VDI";
    case Res::BaseVdiWrite: return "Failed to write to base VDI";
    case Res::NoTag: return "Failed to find requested tag";
    case Res::Startup: return "System is still booting";
    case Res::VdiNotLocked: return "VDI is not locked";
    case Res::Shutdown: return "System is shutting down";
    case Res::NoMem: return "Out of memory on server";
    case Res::FullVdi: return "Maximum number of VDIs reached";
    case Res::VerMismatch: return "Protocol version mismatch";
    case Res::NoSpace: return "Server has no space for new objects";
    case Res::WaitForFormat: return "Waiting for cluster to be formatted";
    case Res::WaitForJoin: return "Waiting for other nodes to join cluster";
    case Res::JoinFailed: return "Node has failed to join cluster";
    case Res::Halt: return "IO has halted as there are not enough living nodes";
    case Res::Readonly: return "Object is read-only";
    case Res::InodeInvalidated: return "Inode object is invalidated";
    case Res::OldNodeVer: return "Request has an old epoch";
    case Res::NewNodeVer: return "Request has a new epoch";
    case Res::NotFormatted: return "Cluster has not been formatted";
    case Res::InvalidCtime: return "Creation times differ";
    case Res::InvalidEpoch: return "Invalid epoch";
    case Res::NetworkError: return "Network error between sheep";
    case Res::NoCache: return "No cache object found";
    case Res::BufferSmall: return "The buffer is too small";
    case Res::ForceRecover: return "Cluster is running/halted and cannot be force recovered";
    case Res::NoStore: return "Targeted backend store is not found";
    case Res::NoSupport: return "Operation is not supported";
    case Res::NodeInRecovery: return "Targeted node is in recovery";
    case Res::Killed: return "Node is killed";
    case Res::OidExist: return "Object ID exists already";
    case Res::Again: return "Ask to try again";
    case Res::StaleObj: return "Object may be stale";
    case Res::ClusterError: return "Cluster driver error";
    case Res::GatewayMode: return "Targeted node is gateway mode";
    case Res::InvalidVnodesStrategy: return "Invalid cluster vnodes strategy";
    case Res::AuthRequired:
      return "Authentication required: this sheep needs the cluster key (--auth-key FILE)";
    case Res::AuthFailed: return "Authentication failed: wrong cluster key";
    default: break;
  }
  static thread_local char buf[32];
  std::snprintf(buf, sizeof(buf), "Invalid error code %x", static_cast<unsigned>(r));
  return buf;
}

Res res_from_errno(int err) {
  switch (err) {
    case ENOENT: return Res::NoObj;
    case ENOSPC:
    case EDQUOT: return Res::NoSpace;
    case ENOMEM: return Res::NoMem;
    case EROFS: return Res::Readonly;
    case EINVAL: return Res::InvalidParms;
    default: return Res::Eio;
  }
}

}  // namespace sd
