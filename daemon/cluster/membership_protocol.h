// MembershipProtocol: a ClusterDriver built on any OrderedTransport.
//
// It turns ordered records into members, a master and join decisions:
// Every record starts with its type, its sender's id, the sender's
// incarnation (a random number per process) and the sender's sequence
// number, then:
//  - JOIN {node, info}: a newcomer asks in.
//  - JOIN_RESPONSE {target, accepted, basis, members (each with its
//    incarnation and sequence number), reply}: the master's
//    decision, computed after delivering event `basis`. It is valid only if
//    it is delivered right after that event (nothing changed in between);
//    a stale response is ignored by all and the master answers again. The
//    master answers one newcomer at a time, oldest first.
//  - FOUND {node}: an unanswered newcomer that has good reason to
//    believe no member exists founds the cluster (see below).
//  - MSG {data}: a broadcast.
//  - REFUSAL {target, why}: the master turns away a JOIN it cannot
//    authenticate (below). Not an event: only the newcomer named reads it.
//  - gone(id) from the transport: a member or a waiting newcomer vanished.
//    A JOIN from a new id with a member's address means the same: that
//    sheep was started again (it holds the port), so its old incarnation
//    leaves at that JOIN, before its death is reported.
// Every participant applies the same rules to the same sequence, so all
// agree on members, master and decisions without further coordination.
//
// Knowing the members: with a transport that has history the newcomer
// replays everything and knows them (and when none is left, the oldest
// waiting newcomer founds the cluster). Without history the newcomer is
// "unsynced" until the master's response lists the members, or until the
// transport says it is alone; if neither happens within a few seconds of
// its JOIN it sends FOUND (members, when they exist, answer in
// milliseconds). Unanswered JOINs are re-sent, so a newcomer the master
// never saw is not forgotten.
//
// Trust (docs/PROTOCOL.md "Authenticated membership"): a record is taken
// only from the sender the transport names (corosync knows the process
// that sent it), and a synced participant takes decisions only from the
// master. With a cluster key every record is sealed: the type byte has
// bit 0x80 set and HMAC-SHA256(key, "sheepdog cluster record" | record)
// follows it, and a sender's sequence numbers must grow (a replayed
// record is dropped; the master's JOIN_RESPONSE tells a newcomer where
// each member's sequence stands). Records that fail these checks are
// dropped by every participant alike, never counted as events, so they
// cannot move anyone's view. A JOIN that cannot be authenticated is
// answered by the master with a refusal (rate-limited) and the newcomer
// is never listed; a newcomer believes a refusal addressed to it even when
// it cannot check it (it holds another key, or none).
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/driver.h"
#include "cluster/transport.h"
#include "cluster/wire_buffer.h"
#include "base/rate_limit.h"
#include "cluster_key.h"

namespace sd {

struct MembershipTiming {
  // An unanswered newcomer re-sends its JOIN, and an unsynced one founds
  // the cluster, after this long.
  std::chrono::milliseconds join_retry{3000};
  // A keyed newcomer believes refusals it cannot authenticate (the cluster
  // holds another key, or someone forges them) once they have kept coming
  // this long.
  std::chrono::milliseconds refusal_patience{10000};
};

class MembershipProtocol : public ClusterDriver, public TransportEvents {
 public:
  using Timing = MembershipTiming;
  MembershipProtocol(std::unique_ptr<OrderedTransport> transport, const char* name,
                     ClusterKey key = {}, Timing timing = Timing())
      : transport_(std::move(transport)), name_(name), key_(std::move(key)), timing_(timing) {}
  ~MembershipProtocol() override;

  const char* name() const override { return name_; }
  Status join(const SdNode& self, ClusterEvents* events) override;
  Status broadcast(const std::vector<char>& msg) override;
  void leave() override;
  bool in_contact() const override { return transport_->in_contact(); }
  int64_t contact_until_ms() const override { return transport_->contact_until_ms(); }

  void on_record(const std::string& origin, const std::vector<char>& rec) override;
  void on_gone(const std::string& id) override;
  void on_alone() override;
  void on_tick() override;
  void on_suspend(const std::string& why) override;
  void on_resume(const std::string& new_id) override;
  void on_transport_failure(const std::string& why) override;

 private:
  enum RecordType : uint8_t { kJoin = 1, kJoinResponse = 2, kMsg = 3, kFound = 4, kRefusal = 5 };
  static constexpr uint8_t kSealed = 0x80;  // type bit: a MAC follows the record
  struct Member {
    std::string id;
    SdNode node;
    uint64_t incarnation = 0;  // the sending process (see incarnation_)
    uint64_t last_seq = 0;     // in a JOIN_RESPONSE: where its sequence stands
  };
  struct PendingJoin {
    std::string id;
    SdNode node;
    uint64_t incarnation = 0;
    std::vector<char> info;
  };
  using Clock = std::chrono::steady_clock;

  // Builds a record of `type` from us with the next sequence number (the
  // body written by `fill`), seals it when there is a key, and sends it;
  // numbering and sending happen under send_mu_, so sequence numbers
  // reach the medium in order.
  template <typename Fill>
  Status send_record(uint8_t type, Fill fill);
  Status send_join();
  // A record that failed authentication: a JOIN is refused (by the master),
  // a refusal addressed to us is believed, the rest is dropped.
  void on_unauthenticated(uint8_t type, const std::string& sender, RecordReader& r, bool sealed);
  // The master's REFUSAL of a newcomer it cannot authenticate.
  void refuse_outright(const std::string& target, const std::string& why);
  void handle_join(const std::string& event, const std::string& id, uint64_t incarnation,
                   const SdNode& node, std::vector<char> info);
  void handle_response(const std::string& sender, const std::string& event,
                       const std::string& target, bool accepted, const std::string& basis,
                       std::vector<Member> members, std::vector<char> reply,
                       const std::vector<std::pair<std::string, uint64_t>>& watermarks);
  // Makes room in last_seq_ for a new sender: drops a sender that is
  // neither a member nor waiting to join.
  void forget_oldest_watermark();
  void handle_found(const std::string& id, uint64_t incarnation, const SdNode& node);
  void handle_msg(const std::string& sender, const std::vector<char>& data);
  // Drops members_[index] (not ourselves) and tells the events.
  void remove_member(size_t index);
  bool is_master() const { return joined_ && !members_.empty() && members_.front().id == self_id_; }
  void maybe_respond();
  void found_if_empty();
  void reset();
  std::vector<SdNode> member_nodes() const;
  int member_index(const std::string& id) const;
  int pending_index(const std::string& id) const;

  // Deliveries wait until join() has our id (a transport with history
  // starts delivering from start(), before join() knows what it returned).
  void mark_ready();
  void wait_ready();

  std::unique_ptr<OrderedTransport> transport_;
  const char* name_;
  const ClusterKey key_;
  const Timing timing_;
  // Every record carries it: a random number per process, so that a sheep
  // started again under the same id (corosync's node:pid, when the pid
  // comes back) is told apart from its old self, whose sequence numbers
  // are higher.
  const uint64_t incarnation_ = random_token();
  std::mutex ready_mu_;  // guards ready_
  std::condition_variable ready_cv_;
  bool ready_ = false;
  std::atomic<bool> ready_fast_{false};  // (ready_ seen by the delivery thread)
  ClusterEvents* events_ = nullptr;
  SdNode self_{};
  std::mutex send_mu_;  // guards self_id_, send_seq_, stopped_; held while sending
  std::string self_id_;
  uint64_t send_seq_ = 0;
  bool stopped_ = false;

  // Delivery-thread state.
  bool synced_ = false;  // members_ is known to be complete
  bool joined_ = false;
  bool suspended_ = false;
  std::vector<Member> members_;  // oldest first
  std::vector<PendingJoin> pending_;
  std::string in_flight_;   // newcomer our own unanswered response is for
  std::string last_event_;  // id of the last delivered event
  Clock::time_point join_sent_;
  bool join_seen_ = false;  // our JOIN has been delivered
  // With a key: the newest sequence number taken from each sender process
  // ("id#incarnation"; kept after it leaves, so its old records cannot be
  // replayed). Only authenticated senders get an entry.
  std::unordered_map<std::string, uint64_t> last_seq_;
  static constexpr size_t kMaxWatermarks = 4096;
  // Senders of authenticated JOIN_RESPONSEs or MSGs that are still there:
  // a cluster exists, so an unanswered newcomer asks again, never founds.
  std::set<std::string> cluster_senders_;
  // When the refusals we could not authenticate began, and the last one.
  std::optional<Clock::time_point> refused_since_;
  Clock::time_point last_refusal_{};
  // Senders of records we could not authenticate, until they are gone
  // (on_unauthenticated); at most kMaxForeign.
  std::set<std::string> foreign_;
  static constexpr size_t kMaxForeign = 1024;
  RateLimit refusals_{10};    // answers to unauthenticated JOINs
  // Log lines about dropped records, per kind: a claimed sender the medium
  // contradicts, a bad or missing MAC, a replay.
  RateLimit misaddressed_{1}, complaints_{1}, replays_{1};
};

}  // namespace sd
