// Sheepdog result codes: the vocabulary of every error in this project.
//
// The numeric values are upstream's wire values (sd_rsp.result). The text
// of sd_strerror() is what dog prints after "...: ", byte for byte.
#pragma once
#include <cstdint>

namespace sd {

enum class Res : uint32_t {
  Success = 0x00,
  Unknown = 0x01,
  NoObj = 0x02,
  Eio = 0x03,
  VdiExist = 0x04,
  InvalidParms = 0x05,
  SystemError = 0x06,
  VdiLocked = 0x07,
  NoVdi = 0x08,
  NoBaseVdi = 0x09,
  VdiRead = 0x0A,
  VdiWrite = 0x0B,
  BaseVdiRead = 0x0C,
  BaseVdiWrite = 0x0D,
  NoTag = 0x0E,
  Startup = 0x0F,
  VdiNotLocked = 0x10,
  Shutdown = 0x11,
  NoMem = 0x12,
  FullVdi = 0x13,
  VerMismatch = 0x14,
  NoSpace = 0x15,
  WaitForFormat = 0x16,
  WaitForJoin = 0x17,
  JoinFailed = 0x18,
  Halt = 0x19,
  Readonly = 0x1A,
  InodeInvalidated = 0x1D,
  // Internal codes (0x81 and above).
  OldNodeVer = 0x81,
  NewNodeVer = 0x82,
  NotFormatted = 0x83,
  InvalidCtime = 0x84,
  InvalidEpoch = 0x85,
  NetworkError = 0x86,
  NoCache = 0x87,
  BufferSmall = 0x88,
  ForceRecover = 0x89,
  NoStore = 0x8A,
  NoSupport = 0x8B,
  NodeInRecovery = 0x8C,
  Killed = 0x8D,
  OidExist = 0x8E,
  Again = 0x8F,
  StaleObj = 0x90,
  ClusterError = 0x91,
  VdiNotEmpty = 0x92,
  NotFound = 0x93,
  Incomplete = 0x94,
  CollectingCinfo = 0x95,
  GatewayMode = 0x97,
  InvalidVnodesStrategy = 0x98,
  NoCheckpointEntry = 0x99,
  // Ours (cluster keys): the request was not run.
  AuthRequired = 0xA0,
  AuthFailed = 0xA1,
};

// Upstream's sd_strerror text; "Invalid error code %x" for codes without one.
const char* strerror(Res r);

// Maps an errno from a failed system call to the closest result code.
Res res_from_errno(int err);

}  // namespace sd
