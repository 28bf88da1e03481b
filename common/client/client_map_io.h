// ClientMapIo: a hyper volume's B-tree I/O (HyperMapIo, common/hyper_map.h)
// over client connections, for sd::Vdi and dog: reads through one
// connection, writes through the one `writer` names when called (it may
// change, as the connection holding a VDI's lock does), with the volume's
// copies.
#pragma once
#include <cstdint>
#include <functional>

#include "client/sheep_client.h"
#include "hyper_map.h"

namespace sd {

class ClientMapIo : public HyperMapIo {
 public:
  ClientMapIo(SheepClient& reader, std::function<SheepClient&()> writer, uint8_t copies)
      : reader_(reader), writer_(std::move(writer)), copies_(copies) {}
  ClientMapIo(SheepClient& c, uint8_t copies)
      : ClientMapIo(c, [&c]() -> SheepClient& { return c; }, copies) {}

  Status read(uint64_t oid, void* buf, uint32_t len, uint32_t offset) override {
    return reader_.read_obj(oid, buf, len, offset, copies_);
  }
  Status write(uint64_t oid, const void* buf, uint32_t len, uint32_t offset) override {
    return writer_().write_obj(oid, buf, len, offset, copies_);
  }
  Status create(uint64_t oid, const void* buf, uint32_t len, uint32_t offset) override {
    return writer_().create_and_write_obj(oid, buf, len, offset, copies_);
  }

 private:
  SheepClient& reader_;
  std::function<SheepClient&()> writer_;
  uint8_t copies_;
};

}  // namespace sd
