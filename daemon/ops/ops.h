// The request handlers, the daemon's top layer (folder ops/, above
// sheep.h): the opcode table gives, for every opcode the daemon answers,
// its kind (which work queue runs it and how it is checked), whether it is
// allowed before format ("force"), its handler, and whether it addresses a
// byte range of an object (checked here, once). execute() applies
// upstream's rules (version check, cluster status) and fills in the reply
// header. OpRunner hands the event loop (server/) to them.
//
// Folder ops/ may use every folder below it and sheep.h; nothing below
// includes it (main.cpp builds the OpRunner).
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "proto/results.h"
#include "server/request.h"
#include "server/server.h"

namespace sd {

struct Sheep;

enum class OpKind {
  Gateway,  // routed to the object's owners; may wait on peers
  Peer,     // acts on the local store; epoch-checked
  Local,    // answered by the receiving node
  Cluster,  // changes cluster state on every node
};

using OpHandler = Res (*)(Sheep&, Request&);

// Whether a request addresses bytes of one object: [obj.offset,
// obj.offset + data_length) of obj.oid (the payload of a write, the reply
// of a read). Such a range is checked against the object's size once, here
// where the request is parsed, before any handler runs; the layers below
// only assert it.
// InPiece: a peer request of this node's piece (obj.ec_index names the
// strip of an erasure-coded object, which must be one of its D+P).
enum class OpRange : uint8_t { None, InObject, InPiece };

struct OpInfo {
  uint8_t opcode;
  const char* name;
  OpKind kind;
  bool force;  // allowed before format and while waiting for members
  OpHandler handler;
  OpRange range = OpRange::None;
};

// The piece a peer request addresses: kWholeObject for a replicated
// object, else obj.ec_index (checked by well_formed for InPiece ops).
int request_piece(Sheep& s, const SdReq& h);

// nullptr for opcodes the daemon does not implement.
const OpInfo* find_op(uint8_t opcode);

// Runs a request to completion (on a worker thread) and fills req.rsp.
void execute(Sheep& sheep, Request& req);

// Answers the request at once if that cannot block (a read of a local
// object that is in the page cache) and returns true with req.rsp filled;
// false leaves req untouched for execute() on a worker thread.
bool execute_inline(Sheep& sheep, Request& req);

// The event loop's RequestRunner: requests through the opcode table, and
// the end of a client connection's VDI locks when it closes.
class OpRunner : public RequestRunner {
 public:
  explicit OpRunner(Sheep& sheep) : sheep_(sheep) {}
  Queue queue_of(const Request& req) const override;
  void run(Request& req) override { execute(sheep_, req); }
  bool run_inline(Request& req) override { return execute_inline(sheep_, req); }
  uint32_t reply_epoch() const override;
  // A client connection closed and none of its requests still runs: the
  // VDI locks it held end (on a worker thread).
  void connection_closed(uint64_t conn_id) override;

 private:
  Sheep& sheep_;
};

// Handler groups, defined in ops_object.cpp, ops_vdi.cpp, ops_cluster.cpp.
namespace ops {
Res create_and_write_obj(Sheep&, Request&);
Res read_obj(Sheep&, Request&);
// The non-blocking forms of read_obj/read_peer: false when they cannot
// answer without blocking (or would fail: the normal path reports that).
bool read_obj_cached(Sheep&, Request&);
bool read_peer_cached(Sheep&, Request&);
Res write_obj(Sheep&, Request&);
Res remove_obj(Sheep&, Request&);
Res create_and_write_peer(Sheep&, Request&);
Res read_peer(Sheep&, Request&);
Res write_peer(Sheep&, Request&);
Res remove_peer(Sheep&, Request&);
// A writer's WRITE_OBJ sent to an owner, the lock proven by its token
// (docs/PROTOCOL.md §7.8).
Res direct_write(Sheep&, Request&);
Res exist(Sheep&, Request&);
Res get_obj_list(Sheep&, Request&);
Res get_stale_list(Sheep&, Request&);
Res get_hash(Sheep&, Request&);
Res repair_replica(Sheep&, Request&);
// SCRUB (proto/scrub.h): start, stop or report this node's scrubber.
Res scrub(Sheep&, Request&);
Res oids_exist(Sheep&, Request&);
Res release_objects(Sheep&, Request&);

Res new_vdi(Sheep&, Request&);
Res del_vdi(Sheep&, Request&);
Res get_vdi_info(Sheep&, Request&);
Res lock_vdi(Sheep&, Request&);
Res release_vdi(Sheep&, Request&);
Res get_vdi_attr(Sheep&, Request&);
Res get_vdi_copies(Sheep&, Request&);
Res read_vdis(Sheep&, Request&);
Res read_del_vdis(Sheep&, Request&);
Res flush_vdi(Sheep&, Request&);

Res get_node_list(Sheep&, Request&);
Res make_fs(Sheep&, Request&);
Res shutdown(Sheep&, Request&);
Res alter_cluster_copy(Sheep&, Request&);
Res alter_vdi_copy(Sheep&, Request&);
Res stat_sheep(Sheep&, Request&);
Res stat_cluster(Sheep&, Request&);
Res cluster_info(Sheep&, Request&);
Res get_store_list(Sheep&, Request&);
Res get_epoch(Sheep&, Request&);
Res kill_node(Sheep&, Request&);
Res get_cluster_default(Sheep&, Request&);
Res stat_recovery(Sheep&, Request&);
Res stat_requests(Sheep&, Request&);  // STAT (ops_node.cpp)
Res get_recovery(Sheep&, Request&);
Res set_recovery(Sheep&, Request&);
Res enable_recover(Sheep&, Request&);
Res disable_recover(Sheep&, Request&);
Res get_loglevel(Sheep&, Request&);
Res set_loglevel(Sheep&, Request&);
Res nop(Sheep&, Request&);
Res md_info(Sheep&, Request&);
Res md_plug(Sheep&, Request&);
Res md_unplug(Sheep&, Request&);
Res reweight(Sheep&, Request&);
Res set_vnodes(Sheep&, Request&);
Res get_vnodes(Sheep&, Request&);
Res notify_vdi_add(Sheep&, Request&);
}  // namespace ops

}  // namespace sd
