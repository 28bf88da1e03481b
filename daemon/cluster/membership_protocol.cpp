// Joins, leaves, master election and broadcasts over an ordered transport.
#include "cluster/membership_protocol.h"

#include <algorithm>
#include <cinttypes>
#include <cstring>

#include "base/log.h"

namespace sd {

namespace {
// What the MAC of a sealed record covers, before the record's bytes.
constexpr char kRecordPurpose[] = "sheepdog cluster record";

std::string seq_key(const std::string& id, uint64_t incarnation) {
  return id + "#" + std::to_string(incarnation);
}
}  // namespace

MembershipProtocol::~MembershipProtocol() { leave(); }

Status MembershipProtocol::join(const SdNode& self, ClusterEvents* events) {
  self_ = self;
  events_ = events;
  synced_ = transport_->has_history();
  auto id = transport_->start(this);
  if (!id.ok()) {
    mark_ready();  // (nothing will be delivered; let nobody wait)
    return err(id.code());
  }
  {
    std::lock_guard<std::mutex> lk(send_mu_);
    self_id_ = *id;
  }
  mark_ready();
  return send_join();
}

void MembershipProtocol::mark_ready() {
  {
    std::lock_guard<std::mutex> lk(ready_mu_);
    ready_ = true;
  }
  ready_cv_.notify_all();
}

void MembershipProtocol::wait_ready() {
  if (ready_fast_.load(std::memory_order_acquire)) return;
  std::unique_lock<std::mutex> lk(ready_mu_);
  ready_cv_.wait(lk, [&] { return ready_; });
  ready_fast_.store(true, std::memory_order_release);
}

template <typename Fill>
Status MembershipProtocol::send_record(uint8_t type, Fill fill) {
  std::lock_guard<std::mutex> lk(send_mu_);
  if (stopped_ && type == kMsg) return err(Res::ClusterError);
  RecordWriter w;
  w.buf().reserve(256);  // (also keeps GCC 12's -O3 stringop checker quiet)
  w.u8(key_.empty() ? type : uint8_t(type | kSealed)).str(self_id_).u64(incarnation_);
  w.u64(send_seq_++);
  fill(w);
  if (!key_.empty()) {
    AuthMac mac = key_.message_mac(kRecordPurpose, w.buf().data(), w.buf().size());
    w.raw(mac.data(), mac.size());
  }
  return transport_->send(w.buf());
}

Status MembershipProtocol::send_join() {
  std::vector<char> info = events_->join_info();
  join_sent_ = Clock::now();
  return send_record(kJoin, [&](RecordWriter& w) { w.node(self_).bytes(info); });
}

Status MembershipProtocol::broadcast(const std::vector<char>& msg) {
  return send_record(kMsg, [&](RecordWriter& w) { w.bytes(msg); });
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

void MembershipProtocol::on_record(const std::string& origin, const std::vector<char>& rec) {
  wait_ready();
  if (suspended_ || rec.empty()) return;
  bool sealed = uint8_t(rec[0]) & kSealed;
  size_t body = rec.size();
  if (sealed) {
    if (body < 1 + kAuthMacLen) return;
    body -= kAuthMacLen;
  }
  RecordReader r(rec.data(), body);
  uint8_t type = r.u8() & uint8_t(~kSealed);
  std::string sender = r.str();
  uint64_t incarnation = r.u64();
  uint64_t seq = r.u64();
  if (!r.ok()) return;
  uint64_t skipped = 0;
  if (sender != origin) {
    if (misaddressed_.allow(&skipped))
      sd_err("a cluster record from %s claims to come from %s: dropped (%" PRIu64
             " more dropped records not logged)", origin.c_str(), sender.c_str(), skipped);
    return;
  }
  bool authentic;
  if (key_.empty()) {
    authentic = !sealed;  // a sealed record comes from a sheep with a key
  } else if (sealed) {
    AuthMac mac;
    std::memcpy(mac.data(), rec.data() + body, kAuthMacLen);
    authentic = same_mac(mac, key_.message_mac(kRecordPurpose, rec.data(), body));
  } else {
    authentic = false;
  }
  if (!authentic) {
    on_unauthenticated(type, sender, r, sealed);
    return;
  }
  if (!key_.empty()) {
    std::string key = seq_key(sender, incarnation);
    if (last_seq_.size() >= kMaxWatermarks && !last_seq_.count(key)) forget_oldest_watermark();
    auto [it, fresh] = last_seq_.try_emplace(key, seq);
    if (!fresh) {
      if (seq <= it->second) {
        if (replays_.allow(&skipped))
          sd_err("a replayed cluster record from %s (sequence %" PRIu64 ", last %" PRIu64
                 "): dropped (%" PRIu64 " more dropped records not logged)",
                 sender.c_str(), seq, it->second, skipped);
        return;
      }
      it->second = seq;
    }
  }
  // A record of a running cluster: while its sender is there, an unsynced
  // newcomer has no reason to believe that nobody is (it must not found
  // a cluster of its own).
  if (sender != self_id_ && (type == kJoinResponse || type == kMsg) &&
      cluster_senders_.size() < kMaxForeign)
    cluster_senders_.insert(sender);
  std::string event = sender + "#" + std::to_string(incarnation) + "#" + std::to_string(seq);
  switch (type) {
    case kJoin: {
      SdNode node = r.node();
      std::vector<char> info = r.bytes();
      if (r.ok()) handle_join(event, sender, incarnation, node, std::move(info));
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
        m.incarnation = r.u64();
        m.last_seq = r.u64();
        members.push_back(std::move(m));
      }
      std::vector<char> reply = r.bytes();
      std::vector<std::pair<std::string, uint64_t>> watermarks;
      uint32_t nw = r.u32();
      if (nw > kMaxWatermarks) r.fail();
      for (uint32_t i = 0; i < nw && r.ok(); i++) {
        std::string key = r.str();
        watermarks.emplace_back(std::move(key), r.u64());
      }
      if (r.ok())
        handle_response(sender, event, target, accepted, basis, std::move(members),
                        std::move(reply), watermarks);
      break;
    }
    case kRefusal: {  // not an event: only the newcomer it names cares
      std::string target = r.str();
      std::string why = r.str();
      if (r.ok() && target == self_id_ && !joined_) events_->on_join_refused(why);
      break;
    }
    case kFound: {
      SdNode node = r.node();
      last_event_ = event;
      if (r.ok()) handle_found(sender, incarnation, node);
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

void MembershipProtocol::on_unauthenticated(uint8_t type, const std::string& sender,
                                            RecordReader& r, bool sealed) {
  uint64_t skipped = 0;
  // Someone we cannot authenticate is on the medium: maybe a cluster with
  // another key, whose master will answer us. Until it is gone we must not
  // conclude that nobody is there and found a cluster of our own.
  if (sender != self_id_ && foreign_.size() < kMaxForeign) foreign_.insert(sender);
  if (type == kJoin) {
    SdNode node = r.node();
    if (!r.ok() || !is_master()) return;
    std::string addr = node_addr_str(node.nid);
    std::string why = key_.empty()
                          ? "the joining node " + addr + " uses a cluster key and this cluster has none"
                          : "the joining node " + addr + " does not hold the cluster key (sheep --auth-key)";
    refuse_outright(sender, why);
    return;
  }
  if (type == kRefusal) {
    std::string target = r.str();
    std::string why = r.str();
    if (!r.ok() || target != self_id_ || joined_) return;
    // Anyone on the medium could have sent it. A cluster that holds another
    // key (or none) answers every JOIN we re-send the same way: believed
    // once its refusals have lasted, so a forger cannot turn us away.
    auto now = Clock::now();
    // Refusals that stopped for a while start the count again.
    if (!refused_since_ || now - last_refusal_ > 2 * timing_.join_retry) refused_since_ = now;
    last_refusal_ = now;
    if (!key_.empty() && now - *refused_since_ < timing_.refusal_patience) {
      if (complaints_.allow(&skipped))
        sd_warn("a refusal of this node that we cannot authenticate: waiting to see whether "
                "the cluster keeps refusing (%s)", why.c_str());
      return;
    }
    sd_err("the cluster refused this node, in records we cannot authenticate (%s)",
           sealed ? "the cluster holds another key" : "the cluster has no key");
    events_->on_join_refused(why);
    return;
  }
  if (complaints_.allow(&skipped))
    sd_err("a cluster record from %s without a valid %s: dropped (%" PRIu64
           " more dropped records not logged)",
           sender.c_str(), key_.empty() ? "format (it is sealed: that sheep has a key)" : "MAC",
           skipped);
}

void MembershipProtocol::refuse_outright(const std::string& target, const std::string& why) {
  uint64_t skipped = 0;
  if (!refusals_.allow(&skipped)) return;
  sd_err("refused a join from %s: %s", target.c_str(), why.c_str());
  if (skipped) sd_err("(%" PRIu64 " more joins were refused without an answer)", skipped);
  Status st = send_record(kRefusal, [&](RecordWriter& w) { w.str(target).str(why); });
  if (!st.ok()) sd_err("failed to send a join refusal");
}

void MembershipProtocol::handle_join(const std::string& event, const std::string& id,
                                     uint64_t incarnation, const SdNode& node,
                                     std::vector<char> info) {
  last_event_ = event;
  if (id == self_id_) join_seen_ = true;
  // A re-sent JOIN. (A process that took over a member's id, corosync's
  // node:pid, can only join after the member's leave was delivered.)
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
  if (pi >= 0) {  // a re-sent JOIN (or the same id in a new process)
    pending_[size_t(pi)].node = node;
    pending_[size_t(pi)].info = std::move(info);
    pending_[size_t(pi)].incarnation = incarnation;
  } else {
    pending_.push_back({id, node, incarnation, std::move(info)});
  }
  found_if_empty();
  maybe_respond();
}

void MembershipProtocol::found_if_empty() {
  // With no member left to decide, the oldest waiting newcomer founds the
  // cluster; everyone applies this same rule at the same point. Only
  // participants that know the members are complete may apply it.
  if (!synced_ || !members_.empty() || pending_.empty() || !foreign_.empty()) return;
  PendingJoin p = std::move(pending_.front());
  pending_.erase(pending_.begin());
  if (in_flight_ == p.id) in_flight_.clear();
  members_.push_back({p.id, p.node, p.incarnation, 0});
  if (p.id == self_id_) {
    joined_ = true;
    sd_info("founded the cluster");
    events_->on_join(member_nodes(), p.node, {});
  }
}

void MembershipProtocol::handle_found(const std::string& id, uint64_t incarnation,
                                      const SdNode& node) {
  // Members ignore it: they would have answered the JOIN. Unsynced
  // newcomers learn that the sender founds the cluster.
  if (synced_) return;
  synced_ = true;
  members_.clear();
  int pi = pending_index(id);
  if (pi >= 0) pending_.erase(pending_.begin() + pi);
  members_.push_back({id, node, incarnation, 0});
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
  std::string why;
  bool ok = events_->check_join(p.node, p.info, &reply, &why);
  if (!ok) reply.assign(why.begin(), why.end());
  std::vector<Member> members = members_;
  if (ok) members.push_back({p.id, p.node, p.incarnation, 0});
  for (auto& m : members) {
    auto it = last_seq_.find(seq_key(m.id, m.incarnation));
    m.last_seq = it == last_seq_.end() ? 0 : it->second;
  }
  in_flight_ = p.id;
  Status st = send_record(kJoinResponse, [&](RecordWriter& w) {
    w.str(p.id).u8(ok).str(last_event_);
    w.u32(uint32_t(members.size()));
    for (const auto& m : members) w.str(m.id).node(m.node).u64(m.incarnation).u64(m.last_seq);
    w.bytes(reply);
    // Where every other sender we know of stands (departed ones too), so
    // the newcomer drops the same replays as we do.
    uint32_t n = uint32_t(std::min<size_t>(last_seq_.size(), kMaxWatermarks));
    w.u32(n);
    for (const auto& [key, seq] : last_seq_) {
      if (n-- == 0) break;
      w.str(key).u64(seq);
    }
  });
  if (!st.ok()) {
    in_flight_.clear();
    sd_err("failed to send a join response");
  }
}

void MembershipProtocol::handle_response(
    const std::string& sender, const std::string& event, const std::string& target, bool accepted,
    const std::string& basis, std::vector<Member> members, std::vector<char> reply,
    const std::vector<std::pair<std::string, uint64_t>>& watermarks) {
  int pi = pending_index(target);
  bool for_me = target == self_id_ && !joined_;
  // Decisions come from the master; a synced participant knows who that is.
  bool from_master = !synced_ || (!members_.empty() && members_.front().id == sender);
  bool valid = basis == last_event_ && from_master;
  last_event_ = event;
  if (target == in_flight_ && sender == self_id_) in_flight_.clear();
  if (pi < 0 && !for_me) {  // already decided
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
    if (for_me && !key_.empty()) {
      auto learn = [&](const std::string& key, uint64_t seq) {
        if (last_seq_.size() >= kMaxWatermarks && !last_seq_.count(key)) return;
        uint64_t& last = last_seq_[key];
        if (seq > last) last = seq;
      };
      for (const auto& m : members) learn(seq_key(m.id, m.incarnation), m.last_seq);
      for (const auto& [key, seq] : watermarks) learn(key, seq);
    }
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
    events_->on_join_refused(std::string(reply.begin(), reply.end()));
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
  wait_ready();
  if (suspended_) return;
  foreign_.erase(id);
  cluster_senders_.erase(id);
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

void MembershipProtocol::forget_oldest_watermark() {
  for (auto it = last_seq_.begin(); it != last_seq_.end(); ++it) {
    std::string id = it->first.substr(0, it->first.rfind('#'));
    if (member_index(id) < 0 && pending_index(id) < 0) {
      last_seq_.erase(it);
      return;
    }
  }
}

void MembershipProtocol::remove_member(size_t index) {
  SdNode node = members_[index].node;
  members_.erase(members_.begin() + long(index));
  if (joined_) events_->on_leave(member_nodes(), node);
}

void MembershipProtocol::on_alone() {
  wait_ready();
  if (suspended_ || synced_) return;
  synced_ = true;  // nobody else: the member list is empty and complete
  members_.clear();
  found_if_empty();
}

void MembershipProtocol::on_tick() {
  wait_ready();
  if (events_) events_->on_tick();
  if (suspended_ || joined_ || !join_seen_) return;
  if (Clock::now() - join_sent_ < timing_.join_retry) return;
  if (!synced_ && (!cluster_senders_.empty() || !foreign_.empty())) {
    // Unanswered, but a cluster (or someone we cannot authenticate) is
    // there: ask again rather than found a second cluster.
    if (!send_join().ok()) sd_err("failed to re-send our join");
    return;
  }
  if (!synced_) {
    // Nobody answered our JOIN: there is no member to answer it.
    join_sent_ = Clock::now();
    if (!send_record(kFound, [&](RecordWriter& w) { w.node(self_); }).ok())
      sd_err("failed to send FOUND");
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
  foreign_.clear();
  cluster_senders_.clear();
  refused_since_.reset();
}

void MembershipProtocol::on_suspend(const std::string& why) {
  wait_ready();
  if (suspended_) return;
  suspended_ = true;
  reset();
  events_->on_suspended(why);
}

void MembershipProtocol::on_resume(const std::string& new_id) {
  wait_ready();
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
