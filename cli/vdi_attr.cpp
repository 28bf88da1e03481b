// dog vdi setattr / getattr: key-value attributes of a VDI.
//
// GET_VDI_ATTR (docs/PROTOCOL.md §6.7) sends a whole sheepdog_vdi_attr (name,
// tag, snap_id, key, value) and finds, creates (CREAT, EXCL) or deletes
// (DEL) the attribute object, replying with its vid and attr_id. setattr
// then writes the record into that object; getattr reads it and prints the
// value's bytes as they are, with no newline.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "oid.h"
#include "proto/inode.h"
#include "client/requests.h"
#include "vdi.h"

namespace dog {

namespace {

std::unique_ptr<sd::VdiAttr> make_attr(const std::string& name, const std::string& key) {
  auto a = std::make_unique<sd::VdiAttr>();
  std::memset(a.get(), 0, sizeof(sd::VdiAttr));
  std::memcpy(a->name, name.c_str(), std::min(name.size(), sd::kMaxVdiLen - 1));
  std::memcpy(a->key, key.c_str(), std::min(key.size(), sd::kMaxAttrKeyLen - 1));
  return a;
}

// GET_VDI_ATTR; the reply header, or Eio when it could not be sent.
sd::Result<sd::SdRsp> find_attr(const Context& ctx, const sd::VdiAttr& a, uint16_t flags) {
  return request(ctx.ep, sd::request::vdi_attr(flags), &a, nullptr);
}

// The value of setattr: the third argument, or all of stdin.
bool read_value(const Context& ctx, std::string* value) {
  if (ctx.args.size() > 2) {
    *value = ctx.args[2];
    return true;
  }
  char buf[4096];
  for (;;) {
    ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err("Failed to read from stdin: %s", std::strerror(errno));
      return false;
    }
    if (n == 0) break;
    value->append(buf, size_t(n));
  }
  return true;
}

}  // namespace

int vdi_setattr(Context& ctx) {
  const std::string& name = ctx.args[0];
  if (ctx.args.size() < 2) {
    err("Please specify the attribute key");
    return kExitUsage;
  }
  const std::string& key = ctx.args[1];
  std::string value;
  if (!vdi_opts.del && !read_value(ctx, &value)) return kExitFailure;
  if (value.size() > sd::kMaxAttrValueLen) {
    err("Too large attribute value");
    return kExitUsage;
  }
  auto a = make_attr(name, key);
  a->value_len = uint32_t(value.size());
  std::memcpy(a->value, value.data(), value.size());

  uint16_t flags = vdi_opts.del
                       ? uint16_t(sd::kFlagDel)
                       : uint16_t(sd::kFlagCreat | (vdi_opts.exclusive ? sd::kFlagExcl : 0));
  auto rsp = find_attr(ctx, *a, flags);
  if (!rsp.ok()) {
    err("Failed to set attribute: %s", sd::strerror(sd::Res::Eio));
    return kExitFailure;
  }
  switch (sd::Res(rsp->result)) {
    case sd::Res::Success:
      break;
    case sd::Res::VdiExist:
      err("The attribute '%s' already exists", key.c_str());
      return kExitExists;
    case sd::Res::NoObj:
      err("Attribute '%s' not found", key.c_str());
      return kExitMissing;
    case sd::Res::NoVdi:
      err("VDI not found");
      return kExitMissing;
    default:
      err("Failed to set attribute: %s", sd::strerror(sd::Res(rsp->result)));
      return kExitFailure;
  }
  if (vdi_opts.del) return kExitSuccess;

  sd::SheepClient* c = client_for(ctx.ep);
  uint64_t oid = sd::vid_to_attr_oid(rsp->vdi.vdi_id, rsp->vdi.attr_id);
  sd::Status st = c ? c->write_obj(oid, a.get(), sizeof(sd::VdiAttr), 0) : sd::err(sd::Res::Eio);
  if (!st.ok()) {
    err("Failed to set attribute: %s", sd::strerror(shown_res(st.code())));
    return kExitFailure;
  }
  return kExitSuccess;
}

int vdi_getattr(Context& ctx) {
  const std::string& name = ctx.args[0];
  if (ctx.args.size() < 2) {
    err("Please specify the attribute key");
    return kExitUsage;
  }
  const std::string& key = ctx.args[1];
  auto a = make_attr(name, key);
  auto rsp = find_attr(ctx, *a, 0);
  if (!rsp.ok()) {
    err("Failed to find attribute oid: %s", sd::strerror(sd::Res::Eio));
    return kExitMissing;
  }
  switch (sd::Res(rsp->result)) {
    case sd::Res::Success:
      break;
    case sd::Res::NoObj:
      err("Attribute '%s' not found", key.c_str());
      return kExitMissing;
    case sd::Res::NoVdi:
      err("VDI not found");
      return kExitMissing;
    default:
      err("Failed to find attribute oid: %s", sd::strerror(sd::Res(rsp->result)));
      return kExitMissing;
  }
  sd::SheepClient* c = client_for(ctx.ep);
  uint64_t oid = sd::vid_to_attr_oid(rsp->vdi.vdi_id, rsp->vdi.attr_id);
  sd::Status st = c ? c->read_obj(oid, a.get(), sizeof(sd::VdiAttr), 0) : sd::err(sd::Res::Eio);
  if (!st.ok()) {
    err("Failed to read attribute oid: %s", sd::strerror(shown_res(st.code())));
    return kExitSysfail;
  }
  std::fwrite(a->value, 1, std::min<size_t>(a->value_len, sd::kMaxAttrValueLen), stdout);
  return kExitSuccess;
}

}  // namespace dog
