// What a TCP connection goes through before it has proved the cluster key
// (cluster_key.h): the two handshake requests answered, anything else
// refused unrun, one challenge, one queued answer, a deadline, and a cap on
// how many such connections there are (server.h).
#include <cinttypes>
#include <cstring>

#include "base/log.h"
#include "server/connection.h"
#include "server/server.h"

namespace sd {

using namespace server_limits;

int Server::expire_handshakes() {
  auto now = std::chrono::steady_clock::now();
  while (!untrusted_.empty()) {
    std::shared_ptr<Conn> c = find_conn(untrusted_.front());
    if (!c || c->trusted) {
      untrusted_.pop_front();
      continue;
    }
    auto deadline = c->accepted_at + kHandshakeDeadline;
    if (deadline > now)
      return int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) + 1;
    untrusted_.pop_front();
    uint64_t skipped = 0;
    if (auth_complaints_.allow(&skipped))
      sd_warn("the connection from %s did not prove the cluster key in time: closed (%" PRIu64
              " more refusals not logged)", c->peer.c_str(), skipped);
    close_conn(c->id);
  }
  return -1;
}

void Server::admit_untrusted(Conn& c) {
  // Too many strangers at once: the oldest of the address with the most of
  // them goes. A flood from one address (or one IPv6 /64) pushes out only
  // itself; a client that holds the key proves it in milliseconds.
  while (untrusted_count_ >= kMaxUntrusted && !untrusted_by_host_.empty()) {
    auto busiest = untrusted_by_host_.begin();
    for (auto it = untrusted_by_host_.begin(); it != untrusted_by_host_.end(); ++it)
      if (it->second.size() > busiest->second.size()) busiest = it;
    uint64_t victim = busiest->second.front();
    uint64_t skipped = 0;
    if (cap_complaints_.allow(&skipped))
      sd_warn("too many connections that have not proved the cluster key: %s goes (%" PRIu64
              " more not logged)", busiest->first.c_str(), skipped);
    close_conn(victim);  // (forget_untrusted drops it from busiest)
  }
  untrusted_by_host_[c.host].push_back(c.id);
  untrusted_.push_back(c.id);
  untrusted_count_++;
}

void Server::forget_untrusted(Conn& c) {
  untrusted_count_--;
  auto it = untrusted_by_host_.find(c.host);
  if (it == untrusted_by_host_.end()) return;
  std::erase(it->second, c.id);
  if (it->second.empty()) untrusted_by_host_.erase(it);
}

void Server::trust(Conn& c) {
  forget_untrusted(c);
  c.trusted = true;
  std::unique_ptr<char[]> big(new char[kInBuffer]);
  std::memcpy(big.get(), c.in.get() + c.in_pos, c.in_end - c.in_pos);
  c.in_end -= c.in_pos;
  c.in_pos = 0;
  c.in = std::move(big);
  c.in_cap = kInBuffer;
}

void Server::answer_untrusted(Conn& c, std::unique_ptr<Request> req) {
  Request& r = *req;
  r.rsp = SdRsp{};
  r.rsp.proto_ver = r.hdr.proto_ver;
  r.rsp.opcode = r.hdr.opcode;
  r.rsp.id = r.hdr.id;
  r.rsp.epoch = runner_.reply_epoch();
  Res res = Res::AuthRequired;
  if (r.hdr.opcode == kOpAuthChallenge && !c.challenge_issued &&
      r.hdr.data_length >= kAuthNonceLen && r.payload == nullptr) {
    c.challenge_issued = true;
    if (random_nonce(&c.nonce)) {
      c.challenged = true;
      std::memcpy(r.reply_buffer(kAuthNonceLen), c.nonce.data(), kAuthNonceLen);
      res = Res::Success;
    } else {
      res = Res::SystemError;
    }
  } else if (r.hdr.opcode == kOpAuthResponse) {
    AuthNonce client{};
    AuthMac proof{};
    bool well_formed = c.challenged && r.payload && r.hdr.data_length == kAuthNonceLen + kAuthMacLen;
    if (well_formed) {
      std::memcpy(client.data(), r.data(), kAuthNonceLen);
      std::memcpy(proof.data(), r.data() + kAuthNonceLen, kAuthMacLen);
    }
    c.challenged = false;  // one answer per challenge
    if (well_formed && same_mac(proof, key_.client_proof(c.nonce, client))) {
      trust(c);
      AuthMac ours = key_.server_proof(c.nonce, client);
      std::memcpy(r.reply_buffer(kAuthMacLen), ours.data(), kAuthMacLen);
      res = Res::Success;
    } else {
      uint64_t skipped = 0;
      if (auth_complaints_.allow(&skipped))
        sd_err("authentication failed: the connection from %s does not hold the cluster key (%" PRIu64
               " more refusals not logged)", c.peer.c_str(), skipped);
      res = Res::AuthFailed;
      c.closing = true;
    }
  } else {
    uint64_t skipped = 0;
    if (auth_complaints_.allow(&skipped))
      sd_warn("request %02x from %s refused: the connection has not proved the cluster key (%" PRIu64
              " more refusals not logged)", r.hdr.opcode, c.peer.c_str(), skipped);
    c.closing = true;  // one answer, then the connection goes: nothing piles up
  }
  r.rsp.result = uint32_t(res);
  std::lock_guard<std::mutex> lk(c.out_mu);
  c.outq.push_back(std::move(req));
}

}  // namespace sd
