// oid.h: the oid bit layout and object sizes (docs/PROTOCOL.md §5.1, §5.2).
#include <doctest/doctest.h>

#include "oid.h"

TEST_CASE("oid construction") {
  CHECK(sd::vid_to_vdi_oid(0x7c2b25) == 0x807c2b2500000000ull);
  CHECK(sd::vid_to_data_oid(0x7c2b25, 1) == 0x007c2b2500000001ull);
  CHECK(sd::vid_to_data_oid(0x7c2b25, 0xffffffffull) == 0x007c2b25ffffffffull);
  CHECK(sd::vid_to_vmstate_oid(0x7c2b25, 3) == 0x407c2b2500000003ull);
  CHECK(sd::vid_to_attr_oid(0x7c2b25, 0x12345678) == 0x207c2b2512345678ull);
  CHECK(sd::vid_to_btree_oid(0x7c2b25, 2) == 0x107c2b2500000002ull);
  CHECK(sd::data_oid_to_ledger_oid(0x007c2b2500000001ull) == 0x087c2b2500000001ull);
}

TEST_CASE("oid parsing") {
  CHECK(sd::oid_to_vid(0x807c2b2500000000ull) == 0x7c2b25u);
  CHECK(sd::oid_to_vid(0x087c2b2500000001ull) == 0x7c2b25u);
  CHECK(sd::oid_to_vid(0x00ffffff00000000ull) == 0xffffffu);
  CHECK(sd::data_oid_to_idx(0x007c2b2500000007ull) == 7u);
  CHECK(sd::data_oid_to_idx(0x007c2b25ffffffffull) == 0xffffffffu);
}

TEST_CASE("object kinds") {
  const uint64_t data = sd::vid_to_data_oid(0x7c2b25, 1);
  CHECK(sd::is_data_obj(data));
  CHECK_FALSE(sd::is_vdi_obj(data));
  CHECK(sd::is_vdi_obj(sd::vid_to_vdi_oid(1)));
  CHECK_FALSE(sd::is_data_obj(sd::vid_to_vdi_oid(1)));
  CHECK(sd::is_vmstate_obj(sd::vid_to_vmstate_oid(1, 0)));
  CHECK_FALSE(sd::is_data_obj(sd::vid_to_vmstate_oid(1, 0)));
  CHECK(sd::is_vdi_attr_obj(sd::vid_to_attr_oid(1, 0)));
  CHECK_FALSE(sd::is_data_obj(sd::vid_to_attr_oid(1, 0)));
  CHECK(sd::is_vdi_btree_obj(sd::vid_to_btree_oid(1, 0)));
  CHECK_FALSE(sd::is_data_obj(sd::vid_to_btree_oid(1, 0)));
  CHECK(sd::is_ledger_obj(sd::data_oid_to_ledger_oid(data)));
  CHECK_FALSE(sd::is_data_obj(sd::data_oid_to_ledger_oid(data)));
}

TEST_CASE("object sizes") {
  CHECK(sd::object_size(sd::vid_to_vdi_oid(1), 22) == 12587576u);
  CHECK(sd::object_size(sd::vid_to_attr_oid(1, 5), 22) == 66320u);
  CHECK(sd::object_size(sd::vid_to_btree_oid(1, 5), 22) == 4194304u);
  CHECK(sd::object_size(sd::data_oid_to_ledger_oid(5), 22) == 4194304u);
  CHECK(sd::object_size(sd::vid_to_data_oid(1, 5), 22) == 4194304u);
  CHECK(sd::object_size(sd::vid_to_data_oid(1, 5), 20) == 1048576u);
  CHECK(sd::object_size(sd::vid_to_data_oid(1, 5), 0) == 4194304u);  // 0: the default shift
  CHECK(sd::object_size(sd::vid_to_vmstate_oid(1, 5), 23) == 8388608u);
}

TEST_CASE("inode constants and map offsets") {
  CHECK(sd::kInodeHeaderSize == 4664u);
  CHECK(sd::kInodeSize == 12587576u);
  CHECK(sd::inode_map_offset(0) == 4664u);
  CHECK(sd::inode_map_offset(5) == 4684u);
  CHECK(sd::inode_gref_offset(0) == 4198968u);
  CHECK(sd::kOldMaxVdiSize == 4398046511104ull);
  CHECK(sd::kMaxVdiSize == 18014398509481984ull);
}
