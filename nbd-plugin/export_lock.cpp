// Taking, re-taking and releasing an export's VDI lock.
#define NBDKIT_API_VERSION 2
#include "export_lock.h"

#include <nbdkit-plugin.h>

#include <cinttypes>
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

// "IPv4 ip:… port:…" of the holder, from the lock table.
std::string holder_of(sd::SheepClient& c, uint32_t vid) {
  auto states = sd::get_vdi_states(c);
  if (!states.ok()) return "another client";
  for (const auto& s : *states) {
    if (s.vid != vid) continue;
    if (s.lock_state == sd::kVdiLocked)
      return "a client of the sheep at " + sd::node_id_str(s.lock_owner);
    if (s.lock_state == sd::kVdiSharedLock && s.nr_participants)
      return "a shared lock (first participant: a client of the sheep at " +
             sd::node_id_str(s.participants[0]) + ")";
  }
  return "another client";
}

}  // namespace

bool ExportLock::acquire() {
  std::lock_guard<std::mutex> lk(mu_);
  return acquire_locked(true);
}

bool ExportLock::acquire_locked(bool log_refusal) {
  sd::LockedBy by;
  auto vid = sd::lock_vdi(client_, name_, shared_, &by);
  if (vid.ok()) {
    // The connection the reply came on (the call may have made it).
    generation_ = client_.generation();
    nbdkit_debug("sheepdog: VDI '%s' (vid %" PRIx32 ") locked%s", name_.c_str(), *vid,
                 shared_ ? " (shared)" : "");
    return true;
  }
  generation_ = 0;
  if (!log_refusal) return false;
  if (vid.code() == sd::Res::VdiLocked) {
    std::string who = by.vid ? holder_of(client_, by.vid) : "another client";
    nbdkit_error(
        "sheepdog: VDI '%s' is locked by %s since %s: another writer serves it. Serve it "
        "read-only (readonly=true), join it for a hand-over (lock=shared), or, if that writer "
        "is gone, break the lock with: dog vdi lock unlock %s",
        name_.c_str(), who.c_str(), time_str(by.since).c_str(), name_.c_str());
  } else {
    nbdkit_error("sheepdog: cannot lock VDI '%s': %s", name_.c_str(), sd::strerror(vid.code()));
  }
  return false;
}

bool ExportLock::ensure() {
  auto held = [&] {
    uint64_t g = generation_.load();
    return g && g == client_.generation() && !client_.broken();
  };
  if (held()) return true;  // every write asks: no lock taken on this path
  std::lock_guard<std::mutex> lk(mu_);
  if (held()) return true;
  // The connection the lock lived on is gone (so is the lock): take it
  // again. The sheep may not have seen the old connection close yet, so a
  // refusal is tried again for a few seconds before the write fails.
  nbdkit_debug("sheepdog: the connection to the sheep was lost: locking '%s' again", name_.c_str());
  for (int attempt = 0; attempt < 50; attempt++) {
    bool last = attempt == 49;
    if (acquire_locked(last)) return true;
    if (!last) usleep(100 * 1000);
  }
  return false;
}

void ExportLock::release() {
  std::lock_guard<std::mutex> lk(mu_);
  if (!generation_ || generation_ != client_.generation()) return;  // nothing held
  generation_ = 0;
  auto vid = sd::lookup_vdi(client_, name_);
  if (!vid.ok()) return;
  sd::Status st = sd::release_vdi(client_, *vid, shared_, true);
  if (!st.ok() && st.code() != sd::Res::VdiNotLocked)
    nbdkit_debug("sheepdog: releasing the lock of '%s': %s", name_.c_str(),
                 sd::strerror(st.code()));
}
