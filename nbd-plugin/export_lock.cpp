// Taking, taking up again and releasing an export's VDI lock.
#define NBDKIT_API_VERSION 2
#include "export_lock.h"

#include <nbdkit-plugin.h>

#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <ctime>
#include <unistd.h>

#include "client/vdi.h"
#include "client/vdi_locks.h"
#include "proto/results.h"

namespace {

std::string time_str(uint64_t t) {
  if (!t) return "an unknown time";
  time_t tt = time_t(t);
  struct tm tm;
  gmtime_r(&tt, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

}  // namespace

std::unique_ptr<ExportLock> ExportLock::open(const sd::Endpoint& ep, std::string name,
                                             bool shared) {
  auto c = sd::SheepClient::connect(ep);
  if (!c) {
    nbdkit_error("sheepdog: cannot connect to %s for the lock of VDI '%s': %s", ep.str().c_str(),
                 name.c_str(), std::strerror(errno));
    return nullptr;
  }
  c->set_auto_reconnect(false);
  return std::unique_ptr<ExportLock>(new ExportLock(std::move(c), std::move(name), shared));
}

bool ExportLock::acquire() {
  std::lock_guard<std::mutex> lk(mu_);
  return take_locked(true) == sd::Res::Success;
}

sd::Res ExportLock::take_locked(bool log_refusal) {
  sd::LockedBy by;
  auto g = sd::lock_vdi(*writer_, name_, shared_, &by, token_.load());
  if (g.ok()) {
    token_ = g->token;
    // The connection the reply came on.
    generation_ = writer_->generation();
    nbdkit_debug("sheepdog: VDI '%s' (vid %" PRIx32 ") locked%s", name_.c_str(), g->vid,
                 shared_ ? " (shared)" : "");
    return sd::Res::Success;
  }
  generation_ = 0;
  if (!log_refusal) return g.code();
  if (g.code() == sd::Res::VdiLocked) {
    std::string who = by.vid ? sd::lock_holder_str(*writer_, by.vid) : "another client";
    nbdkit_error(
        "sheepdog: VDI '%s' is locked by %s since %s: another writer serves it. Serve it "
        "read-only (readonly=true), join it for a hand-over (lock=shared), or, if that writer "
        "is gone, break the lock with: dog vdi lock unlock %s",
        name_.c_str(), who.c_str(), time_str(by.since).c_str(), name_.c_str());
  } else {
    nbdkit_error("sheepdog: cannot lock VDI '%s': %s", name_.c_str(), sd::strerror(g.code()));
  }
  return g.code();
}

bool ExportLock::ensure() {
  if (held()) return true;  // every write asks: no lock taken on this path
  if (fenced_) return false;
  std::lock_guard<std::mutex> lk(mu_);
  if (held()) return true;
  if (fenced_) return false;
  // The lock's connection is gone (or the sheep refused a write): make a
  // new one and take the lock up again there before anything else may use
  // it. The sheep allows that only if nothing happened to the lock
  // meanwhile. A sheep that is restarting, joining or cut off is given a
  // few seconds; the write fails after that and the next one tries again.
  nbdkit_debug("sheepdog: taking the lock of '%s' up again", name_.c_str());
  sd::Res r = sd::Res::NetworkError;
  for (int attempt = 0; attempt < 50; attempt++) {
    if (attempt) usleep(100 * 1000);
    if (!writer_->broken()) writer_->abort();  // a connection without our lock: not reused
    sd::Status st = writer_->reconnect([&]() -> sd::Status { return take_locked(false); });
    if (st.ok()) {
      nbdkit_debug("sheepdog: VDI '%s' locked again", name_.c_str());
      return true;
    }
    r = st.code();
    if (r == sd::Res::InodeInvalidated || r == sd::Res::NoVdi) {
      // Broken, released, taken by another writer, or the VDI is gone.
      fenced_ = true;
      nbdkit_error("sheepdog: the lock of VDI '%s' is lost for good (%s): it was broken, "
                   "taken by another writer or the VDI was deleted; every write fails from now on",
                   name_.c_str(), sd::strerror(r));
      return false;
    }
  }
  nbdkit_error("sheepdog: cannot take the lock of VDI '%s' up again (%s): the write fails",
               name_.c_str(), sd::strerror(r));
  return false;
}

void ExportLock::lost() {
  std::lock_guard<std::mutex> lk(mu_);
  generation_ = 0;
}

void ExportLock::release() {
  std::lock_guard<std::mutex> lk(mu_);
  if (!generation_ || generation_ != writer_->generation()) return;  // nothing held
  generation_ = 0;
  auto vid = sd::lookup_vdi(*writer_, name_);
  if (!vid.ok()) return;
  sd::Status st = sd::release_vdi(*writer_, *vid, shared_, true);
  if (!st.ok() && st.code() != sd::Res::VdiNotLocked)
    nbdkit_debug("sheepdog: releasing the lock of '%s': %s", name_.c_str(),
                 sd::strerror(st.code()));
}
