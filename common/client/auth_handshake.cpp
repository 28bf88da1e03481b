// AUTH_CHALLENGE and AUTH_RESPONSE from the client side.
#include "client/auth_handshake.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proto/wire.h"

namespace sd {

namespace {

ClusterKey& key_storage() {
  static ClusterKey key;
  return key;
}

// One request and its reply on a blocking socket that nothing else uses yet.
Status exchange(int fd, SdReq req, const void* out, void* in, uint32_t in_len, SdRsp* rsp) {
  SD_TRY(write_full(fd, &req, sizeof(req)));
  if ((req.flags & kFlagWrite) && req.data_length) SD_TRY(write_full(fd, out, req.data_length));
  SD_TRY(read_full(fd, rsp, sizeof(*rsp)));
  if (rsp->data_length > in_len) return err(Res::NetworkError);
  if (rsp->data_length) SD_TRY(read_full(fd, in, rsp->data_length));
  return {};
}

// AUTH_CHALLENGE, then AUTH_RESPONSE, checking the sheep's proof.
Status handshake(int fd) {
  const ClusterKey& key = client_key();
  AuthNonce server{}, client{};
  SdRsp rsp{};
  SdReq req = make_req(kOpAuthChallenge, 0, kAuthNonceLen);
  SD_TRY(exchange(fd, req, nullptr, server.data(), kAuthNonceLen, &rsp));
  if (Res(rsp.result) != Res::Success || rsp.data_length != kAuthNonceLen)
    return err(Res::NoSupport);  // a sheep without a key, or one that knows no keys
  if (!random_nonce(&client)) return err(Res::SystemError);
  AuthMac proof = key.client_proof(server, client);
  char payload[kAuthNonceLen + kAuthMacLen];
  std::memcpy(payload, client.data(), kAuthNonceLen);
  std::memcpy(payload + kAuthNonceLen, proof.data(), kAuthMacLen);
  req = make_req(kOpAuthResponse, kFlagWrite, sizeof(payload));
  AuthMac theirs{};
  SD_TRY(exchange(fd, req, payload, theirs.data(), kAuthMacLen, &rsp));
  if (Res(rsp.result) != Res::Success) return err(Res(rsp.result));
  if (rsp.data_length != kAuthMacLen || !same_mac(theirs, key.server_proof(server, client)))
    return err(Res::AuthFailed);  // it does not hold our key
  return {};
}

}  // namespace

void set_client_key(const ClusterKey& key) { key_storage() = key; }
const ClusterKey& client_key() { return key_storage(); }

Status authenticate(int fd) {
  // A sheep that stops answering mid-handshake (SIGSTOP, a dead host) must
  // not hold the connecting thread for ever: 10 s for each step.
  timeval tv{10, 0}, none{0, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  Status st = handshake(fd);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
  return st;
}

int connect_and_authenticate(const Endpoint& ep) {
  int fd = connect_endpoint(ep);
  if (fd < 0 || !ep.unix_path.empty() || client_key().empty()) return fd;
  Status st = authenticate(fd);
  if (st.ok()) return fd;
  close(fd);
  errno = st.code() == Res::NetworkError ? ECONNRESET
          : st.code() == Res::NoSupport  ? EPROTONOSUPPORT
                                         : EACCES;
  return -1;
}

}  // namespace sd
