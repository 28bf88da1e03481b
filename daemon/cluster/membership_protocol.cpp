// Joins, leaves, master election and broadcasts over an ordered transport.
#include "cluster/membership_protocol.h"

#include "cluster/wire_buffer.h"
#include "log.h"

namespace sd {

MembershipProtocol::~MembershipProtocol() { leave(); }

Status MembershipProtocol::join(const SdNode& self, const std::vector<char>& info,
                                ClusterEvents* events) {
  self_ = self;
  join_info_ = info;
  events_ = events;
  auto id = transport_->start(this);
  if (!id.ok()) return err(id.code());
  self_id_ = *id;
  RecordWriter w;
  {
    std::lock_guard<std::mutex> lk(send_mu_);
    w.u8(kJoin).str(self_id_).u64(send_seq_++).node(self_).bytes(info);
  }
  return transport_->send(w.buf());
}

Status MembershipProtocol::broadcast(const std::vector<char>& msg) {
  RecordWriter w;
  {
    std::lock_guard<std::mutex> lk(send_mu_);
    if (stopped_) return err(Res::ClusterError);
    w.u8(kMsg).str(self_id_).u64(send_seq_++).bytes(msg);
  }
  return transport_->send(w.buf());
}

void MembershipProtocol::leave() {
  {
    std::lock_guard<std::mutex> lk(send_mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  transport_->stop();
}

std::vector<SdNode> MembershipProtocol::member_nodes() const {
  std::vector<SdNode> out;
  for (const auto& m : members_) out.push_back(m.node);
  return out;
}

int MembershipProtocol::member_index(const std::string& id) const {
  for (size_t i = 0; i < members_.size(); i++)
    if (members_[i].id == id) return int(i);
  return -1;
}

void MembershipProtocol::on_record(const std::vector<char>& rec) {
  RecordReader r(rec);
  uint8_t type = r.u8();
  std::string sender = r.str();
  uint64_t seq = r.u64();
  if (!r.ok()) return;
  std::string event = sender + "#" + std::to_string(seq);
  switch (type) {
    case kJoin: {
      SdNode node = r.node();
      std::vector<char> info = r.bytes();
      if (r.ok()) handle_join(event, sender, node, std::move(info));
      break;
    }
    case kJoinResponse: {
      std::string target = r.str();
      bool accepted = r.u8() != 0;
      std::string basis = r.str();
      uint32_t n = r.u32();
      std::vector<Member> members;
      for (uint32_t i = 0; i < n && r.ok(); i++) {
        Member m;
        m.id = r.str();
        m.node = r.node();
        members.push_back(std::move(m));
      }
      std::vector<char> reply = r.bytes();
      if (r.ok()) handle_response(event, target, accepted, basis, std::move(members), std::move(reply));
      break;
    }
    case kMsg: {
      std::vector<char> data = r.bytes();
      if (r.ok()) handle_msg(sender, data);
      last_event_ = event;
      break;
    }
    default:
      sd_err("unknown cluster record type %u", unsigned(type));
  }
}

void MembershipProtocol::handle_join(const std::string& event, const std::string& id,
                                     const SdNode& node, std::vector<char> info) {
  last_event_ = event;
  if (member_index(id) >= 0) return;
  pending_.push_back({id, node, std::move(info)});
  found_if_empty();
  maybe_respond();
}

void MembershipProtocol::found_if_empty() {
  // With no member left to decide, the oldest waiting newcomer founds the
  // cluster; everyone applies this same rule at the same point.
  if (!members_.empty() || pending_.empty()) return;
  PendingJoin p = std::move(pending_.front());
  pending_.erase(pending_.begin());
  if (in_flight_ == p.id) in_flight_.clear();
  members_.push_back({p.id, p.node});
  if (p.id == self_id_) {
    joined_ = true;
    sd_info("founded the cluster");
    events_->on_join(member_nodes(), p.node, {});
  }
}

void MembershipProtocol::maybe_respond() {
  if (!is_master() || pending_.empty() || !in_flight_.empty()) return;
  const PendingJoin& p = pending_.front();
  std::vector<char> reply;
  bool ok = events_->check_join(p.node, p.info, &reply);
  RecordWriter w;
  {
    std::lock_guard<std::mutex> lk(send_mu_);
    w.u8(kJoinResponse).str(self_id_).u64(send_seq_++);
  }
  w.str(p.id).u8(ok).str(last_event_);
  std::vector<Member> members = members_;
  if (ok) members.push_back({p.id, p.node});
  w.u32(uint32_t(members.size()));
  for (const auto& m : members) w.str(m.id).node(m.node);
  w.bytes(reply);
  in_flight_ = p.id;
  if (!transport_->send(w.buf()).ok()) {
    in_flight_.clear();
    sd_err("failed to send a join response");
  }
}

void MembershipProtocol::handle_response(const std::string& event, const std::string& target,
                                         bool accepted, const std::string& basis,
                                         std::vector<Member> members, std::vector<char> reply) {
  bool valid = basis == last_event_;
  last_event_ = event;
  if (target == in_flight_ && event.rfind(self_id_ + "#", 0) == 0) in_flight_.clear();
  size_t pi = 0;
  while (pi < pending_.size() && pending_[pi].id != target) pi++;
  if (pi == pending_.size()) {  // already decided
    maybe_respond();
    return;
  }
  if (!valid) {
    maybe_respond();  // the state moved on since the decision: decide again
    return;
  }
  SdNode node = pending_[pi].node;
  pending_.erase(pending_.begin() + long(pi));
  if (accepted) {
    members_ = std::move(members);
    if (target == self_id_) {
      joined_ = true;
      sd_info("joined the cluster; %zu members", members_.size());
      events_->on_join(member_nodes(), node, reply);
    } else if (joined_) {
      events_->on_join(member_nodes(), node, reply);
    }
  } else if (target == self_id_) {
    events_->on_join_refused(reply);
  }
  maybe_respond();
}

void MembershipProtocol::handle_msg(const std::string& sender, const std::vector<char>& data) {
  if (!joined_) return;
  int i = member_index(sender);
  if (i < 0) return;  // not (or no longer) a member
  events_->on_message(members_[size_t(i)].node, data);
}

void MembershipProtocol::on_gone(const std::string& id) {
  last_event_ = "gone#" + id;
  for (size_t i = 0; i < pending_.size(); i++) {
    if (pending_[i].id == id) {
      pending_.erase(pending_.begin() + long(i));
      break;
    }
  }
  if (in_flight_ == id) in_flight_.clear();
  int i = member_index(id);
  if (i >= 0) {
    SdNode node = members_[size_t(i)].node;
    members_.erase(members_.begin() + i);
    if (id == self_id_) {
      joined_ = false;
      events_->on_driver_failure("this node was declared gone by the cluster");
      return;
    }
    if (joined_) events_->on_leave(member_nodes(), node);
  }
  found_if_empty();
  // A new master takes over unanswered joins; a response the old master had
  // in flight is judged when it arrives.
  if (is_master() && in_flight_.empty()) maybe_respond();
}

void MembershipProtocol::on_transport_failure(const std::string& why) {
  if (events_) events_->on_driver_failure(why);
}

}  // namespace sd
