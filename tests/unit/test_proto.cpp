// proto/wire.h, proto/node.h, proto/inode.h, proto/results.h and result.h:
// layouts checked again at run time, result texts, errno mapping, Result.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#include "proto/inode.h"
#include "proto/node.h"
#include "proto/results.h"
#include "proto/wire.h"
#include "result.h"

namespace {

// offsetof through a runtime value, so the checks run as tests too.
template <class T>
size_t off(const T* base, const void* field) {
  return size_t(static_cast<const char*>(field) - reinterpret_cast<const char*>(base));
}

}  // namespace

TEST_CASE("sd_req layout") {
  sd::SdReq r{};
  CHECK(sizeof(r) == 48);
  CHECK(off(&r, &r.opcode) == 1);
  CHECK(off(&r, &r.flags) == 2);
  CHECK(off(&r, &r.epoch) == 4);
  CHECK(off(&r, &r.id) == 8);
  CHECK(off(&r, &r.data_length) == 12);
  CHECK(off(&r, &r.obj.oid) == 16);
  CHECK(off(&r, &r.obj.cow_oid) == 24);
  CHECK(off(&r, &r.obj.copies) == 32);
  CHECK(off(&r, &r.obj.copy_policy) == 33);
  CHECK(off(&r, &r.obj.ec_index) == 34);
  CHECK(off(&r, &r.obj.tgt_epoch) == 36);
  CHECK(off(&r, &r.obj.offset) == 40);
  CHECK(sizeof(r.obj.offset) == 4);
  CHECK(off(&r, &r.vdi.vdi_size) == 16);
  CHECK(off(&r, &r.vdi.base_vdi_id) == 24);
  CHECK(off(&r, &r.vdi.copies) == 28);
  CHECK(off(&r, &r.vdi.block_size_shift) == 31);
  CHECK(off(&r, &r.vdi.snapid) == 32);
  CHECK(off(&r, &r.vdi.type) == 36);
  CHECK(off(&r, &r.cluster.ctime) == 24);
  CHECK(off(&r, &r.cluster.flags) == 34);
  CHECK(off(&r, &r.cluster.nodes_nr) == 40);
  CHECK(off(&r, &r.cluster.block_size_shift) == 44);
  CHECK(off(&r, &r.vdi_state.new_vid) == 20);
  CHECK(off(&r, &r.ref.count) == 28);
  CHECK(off(&r, &r.forw.port) == 40);
}

TEST_CASE("sd_rsp layout") {
  sd::SdRsp r{};
  CHECK(sizeof(r) == 48);
  CHECK(off(&r, &r.data_length) == 12);
  CHECK(off(&r, &r.result) == 16);
  CHECK(off(&r, &r.obj.copies) == 20);
  CHECK(off(&r, &r.obj.offset) == 24);
  CHECK(off(&r, &r.vdi.vdi_id) == 24);
  CHECK(off(&r, &r.vdi.attr_id) == 28);
  CHECK(off(&r, &r.vdi.copies) == 32);
  CHECK(off(&r, &r.vdi.block_size_shift) == 33);
  CHECK(off(&r, &r.node.nr_nodes) == 20);
  CHECK(off(&r, &r.node.store_size) == 32);
  CHECK(off(&r, &r.node.store_free) == 40);
  CHECK(off(&r, &r.hash.digest) == 24);
  CHECK(off(&r, &r.cluster_default.nr_copies) == 20);
  CHECK(off(&r, &r.cluster_default.block_size_shift) == 22);
}

TEST_CASE("a request header is sent as little-endian bytes") {
  sd::SdReq r = sd::make_req(sd::kOpReadObj, 0, 0x01020304);
  r.obj.oid = 0x807c2b2500000000ull;
  r.obj.offset = 4664;
  unsigned char b[48];
  std::memcpy(b, &r, 48);
  CHECK(b[0] == 0x02);
  CHECK(b[1] == 0x02);
  CHECK(b[12] == 0x04);
  CHECK(b[15] == 0x01);
  CHECK(b[23] == 0x80);
  CHECK(b[20] == 0x25);
  CHECK(b[40] == (4664 & 0xff));
  CHECK(b[41] == (4664 >> 8));
}

TEST_CASE("make_req picks the protocol version by opcode") {
  CHECK(sd::make_req(sd::kOpGetVdiInfo).proto_ver == 0x02);
  CHECK(sd::make_req(sd::kOpGetNodeList).proto_ver == 0x0a);
  CHECK(sd::make_req(sd::kOpClusterInfo).proto_ver == 0x0a);
  sd::SdReq w = sd::make_req(sd::kOpWriteObj, sd::kFlagWrite, 512);
  CHECK(w.flags == 0x0001);
  CHECK(w.data_length == 512);
  CHECK(w.id == 0);
  CHECK(w.obj.oid == 0);
}

TEST_CASE("node and cluster records") {
  sd::SdNode n{};
  CHECK(sizeof(n) == 80);
  CHECK(off(&n, &n.nid) == 24);
  CHECK(off(&n, &n.nid.port) == 40);
  CHECK(off(&n, &n.nid.io_port) == 58);
  CHECK(off(&n, &n.nr_vnodes) == 64);
  CHECK(off(&n, &n.zone) == 68);
  CHECK(off(&n, &n.space) == 72);
  CHECK(sizeof(sd::ClusterInfo) == 491568);
  CHECK(offsetof(sd::ClusterInfo, nodes) == 48);
  CHECK(sizeof(sd::EpochLogHeader) == 48);
  CHECK(sizeof(sd::SheepConfig) == 40);
  CHECK(offsetof(sd::SheepConfig, version) == 30);
}

TEST_CASE("inode header layout") {
  CHECK(sizeof(sd::InodeHeader) == 4664);
  CHECK(offsetof(sd::InodeHeader, snap_ctime) == 520);
  CHECK(offsetof(sd::InodeHeader, vdi_size) == 536);
  CHECK(offsetof(sd::InodeHeader, nr_copies) == 554);
  CHECK(offsetof(sd::InodeHeader, block_size_shift) == 555);
  CHECK(offsetof(sd::InodeHeader, vdi_id) == 560);
  CHECK(offsetof(sd::InodeHeader, parent_vdi_id) == 564);
  CHECK(sd::kInodeLookupBytes == 568);
  CHECK(sizeof(sd::VdiAttr) == 66320);
}

TEST_CASE("addresses") {
  uint8_t a[16];
  REQUIRE(sd::parse_addr("192.168.1.5", a));
  CHECK(sd::addr_str(a) == "192.168.1.5");
  for (int i = 0; i < 12; i++) CHECK(a[i] == 0);
  REQUIRE(sd::parse_addr("fe80::1", a));
  CHECK(sd::addr_str(a) == "fe80::1");
  CHECK_FALSE(sd::parse_addr("300.1.1.1", a));
  CHECK_FALSE(sd::parse_addr("nonsense", a));
  sd::NodeId nid{};
  REQUIRE(sd::parse_addr("127.0.0.1", nid.addr));
  nid.port = 7001;
  CHECK(sd::node_addr_str(nid) == "127.0.0.1:7001");
}

TEST_CASE("sd_strerror texts") {
  CHECK(std::string(sd::strerror(sd::Res::Success)) == "Success");
  CHECK(std::string(sd::strerror(sd::Res::NoObj)) == "No object found");
  CHECK(std::string(sd::strerror(sd::Res::Eio)) == "I/O error");
  CHECK(std::string(sd::strerror(sd::Res::NoVdi)) == "No VDI found");
  CHECK(std::string(sd::strerror(sd::Res::NoTag)) == "Failed to find requested tag");
  CHECK(std::string(sd::strerror(sd::Res::VdiExist)) == "VDI exists already");
  CHECK(std::string(sd::strerror(sd::Res::Readonly)) == "Object is read-only");
  CHECK(std::string(sd::strerror(sd::Res::NoSpace)) == "Server has no space for new objects");
  CHECK(std::string(sd::strerror(sd::Res::WaitForFormat)) ==
        "Waiting for cluster to be formatted");
  CHECK(std::string(sd::strerror(sd::Res::NetworkError)) == "Network error between sheep");
}

TEST_CASE("codes without a text print as hex") {
  CHECK(std::string(sd::strerror(sd::Res::VdiNotEmpty)) == "Invalid error code 92");
  CHECK(std::string(sd::strerror(sd::Res(0x1b))) == "Invalid error code 1b");
  CHECK(std::string(sd::strerror(sd::Res(0xdead))) == "Invalid error code dead");
}

TEST_CASE("errno to result code") {
  CHECK(sd::res_from_errno(ENOENT) == sd::Res::NoObj);
  CHECK(sd::res_from_errno(ENOSPC) == sd::Res::NoSpace);
  CHECK(sd::res_from_errno(EDQUOT) == sd::Res::NoSpace);
  CHECK(sd::res_from_errno(ENOMEM) == sd::Res::NoMem);
  CHECK(sd::res_from_errno(EROFS) == sd::Res::Readonly);
  CHECK(sd::res_from_errno(EINVAL) == sd::Res::InvalidParms);
  CHECK(sd::res_from_errno(EBADF) == sd::Res::Eio);
}

namespace {

sd::Result<int> half(int x) {
  if (x % 2) return sd::err(sd::Res::InvalidParms);
  return x / 2;
}

sd::Status quarter(int x, int* out) {
  auto h = half(x);
  SD_TRY(h);
  auto q = half(*h);
  SD_TRY(q);
  *out = *q;
  return {};
}

}  // namespace

TEST_CASE("Result and SD_TRY") {
  auto ok = half(8);
  REQUIRE(ok.ok());
  CHECK(*ok == 4);
  CHECK(ok.code() == sd::Res::Success);
  auto bad = half(3);
  CHECK_FALSE(bad.ok());
  CHECK(bad.code() == sd::Res::InvalidParms);
  int q = 0;
  CHECK(quarter(8, &q).ok());
  CHECK(q == 2);
  CHECK(quarter(6, &q).code() == sd::Res::InvalidParms);
  sd::Status s = sd::Res::NoObj;
  CHECK_FALSE(s.ok());
  CHECK(sd::Status(sd::Res::Success).ok());
}
