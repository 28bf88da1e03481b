// Joins, leaves, master election and broadcasts over an ordered transport.
#include "cluster/membership_protocol.h"

#include "cluster/wire_buffer.h"
#include "base/log.h"

namespace sd {

namespace {
// An unanswered newcomer re-sends its JOIN, and an unsynced one founds the
// cluster, after this long.
constexpr auto kJoinRetry = std::chrono::seconds(3);
}  // namespace

MembershipProtocol::~MembershipProtocol() { leave(); }

Status MembershipProtocol::join(const SdNode& self, ClusterEvents* events) {
  self_ = self;
  events_ = events;
  synced_ = transport_->has_history();
  auto id = transport_->start(this);
  if (!id.ok()) return err(id.code());
  {
    std::lock_guard<std::mutex> lk(send_mu_);
    self_id_ = *id;
  }
  return send_join();
}

Status MembershipProtocol::send_join() {
  std::vector<char> info = events_->join_info();
  RecordWriter w;
  {
    std::lock_guard<std::mutex> lk(send_mu_);
    w.u8(kJoin).str(self_id_).u64(send_seq_++).node(self_).bytes(info);
  }
  join_sent_ = Clock::now();
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

int MembershipProtocol::pending_index(const std::string& id) const {
  for (size_t i = 0; i < pending_.size(); i++)
    if (pending_[i].id == id) return int(i);
  return -1;
}

void MembershipProtocol::on_record(const std::vector<char>& rec) {
  if (suspended_) return;
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
    case kFound: {
      SdNode node = r.node();
      last_event_ = event;
      if (r.ok()) handle_found(sender, node);
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
  if (id == self_id_) join_seen_ = true;
  if (member_index(id) >= 0) return;
  // A newcomer with the address of a member (or of a waiting newcomer) is
  // that sheep started again: it bound the same port, so the old one is
  // dead, even if its death has not been seen yet. Everyone reads this
  // same record, so everyone lets the old one go here.
  for (size_t k = 0; k < pending_.size(); k++) {
    if (pending_[k].id != id && same_node(pending_[k].node, node)) {
      if (in_flight_ == pending_[k].id) in_flight_.clear();
      pending_.erase(pending_.begin() + long(k));
      break;
    }
  }
  for (size_t k = 0; k < members_.size(); k++) {
    if (members_[k].id != self_id_ && same_node(members_[k].node, node)) {
      sd_info("%s is back under a new identity: its old one is gone",
              node_addr_str(node.nid).c_str());
      remove_member(k);
      break;
    }
  }
  int pi = pending_index(id);
  if (pi >= 0)
    pending_[size_t(pi)].info = std::move(info);  // a re-sent JOIN
  else
    pending_.push_back({id, node, std::move(info)});
  found_if_empty();
  maybe_respond();
}

void MembershipProtocol::found_if_empty() {
  // With no member left to decide, the oldest waiting newcomer founds the
  // cluster; everyone applies this same rule at the same point. Only
  // participants that know the members are complete may apply it.
  if (!synced_ || !members_.empty() || pending_.empty()) return;
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

void MembershipProtocol::handle_found(const std::string& id, const SdNode& node) {
  // Members ignore it: they would have answered the JOIN. Unsynced
  // newcomers learn that the sender founds the cluster.
  if (synced_) return;
  synced_ = true;
  members_.clear();
  int pi = pending_index(id);
  if (pi >= 0) pending_.erase(pending_.begin() + pi);
  members_.push_back({id, node});
  if (id == self_id_) {
    joined_ = true;
    sd_info("no member answered; founded the cluster");
    events_->on_join(member_nodes(), node, {});
  }
  maybe_respond();
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
  int pi = pending_index(target);
  if (pi < 0 && !(target == self_id_ && !joined_)) {  // already decided
    maybe_respond();
    return;
  }
  if (!valid) {
    maybe_respond();  // the state moved on since the decision: decide again
    return;
  }
  SdNode node = pi >= 0 ? pending_[size_t(pi)].node : self_;
  if (pi >= 0) pending_.erase(pending_.begin() + pi);
  if (accepted) {
    members_ = std::move(members);
    if (target == self_id_) {
      joined_ = true;
      synced_ = true;
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
  if (suspended_) return;
  last_event_ = "gone#" + id;
  int pi = pending_index(id);
  if (pi >= 0) pending_.erase(pending_.begin() + pi);
  if (in_flight_ == id) in_flight_.clear();
  int i = member_index(id);
  if (i >= 0) {
    if (id == self_id_) {
      members_.erase(members_.begin() + i);
      joined_ = false;
      events_->on_driver_failure("this node was declared gone by the cluster");
      return;
    }
    remove_member(size_t(i));
  }
  found_if_empty();
  // A new master takes over unanswered joins; a response the old master had
  // in flight is judged when it arrives.
  maybe_respond();
}

void MembershipProtocol::remove_member(size_t index) {
  SdNode node = members_[index].node;
  members_.erase(members_.begin() + long(index));
  if (joined_) events_->on_leave(member_nodes(), node);
}

void MembershipProtocol::on_alone() {
  if (suspended_ || synced_) return;
  synced_ = true;  // nobody else: the member list is empty and complete
  members_.clear();
  found_if_empty();
}

void MembershipProtocol::on_tick() {
  if (suspended_ || joined_ || !join_seen_) return;
  if (Clock::now() - join_sent_ < kJoinRetry) return;
  if (!synced_) {
    // Nobody answered our JOIN: there is no member to answer it.
    RecordWriter w;
    {
      std::lock_guard<std::mutex> lk(send_mu_);
      w.u8(kFound).str(self_id_).u64(send_seq_++).node(self_);
    }
    join_sent_ = Clock::now();
    if (!transport_->send(w.buf()).ok()) sd_err("failed to send FOUND");
    return;
  }
  // Synced but unanswered (the master may never have seen our JOIN).
  if (!send_join().ok()) sd_err("failed to re-send our join");
}

void MembershipProtocol::reset() {
  synced_ = transport_->has_history();
  joined_ = false;
  join_seen_ = false;
  members_.clear();
  pending_.clear();
  in_flight_.clear();
  last_event_.clear();
}

void MembershipProtocol::on_suspend(const std::string& why) {
  if (suspended_) return;
  suspended_ = true;
  reset();
  events_->on_suspended(why);
}

void MembershipProtocol::on_resume(const std::string& new_id) {
  {
    std::lock_guard<std::mutex> lk(send_mu_);
    self_id_ = new_id;
  }
  suspended_ = false;
  reset();
  sd_info("cluster transport back; joining again");
  if (!send_join().ok()) sd_err("failed to send our join");
}

void MembershipProtocol::on_transport_failure(const std::string& why) {
  if (events_) events_->on_driver_failure(why);
}

}  // namespace sd
