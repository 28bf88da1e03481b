// Parsing and checking the plugin's keys.
#define NBDKIT_API_VERSION 2
#include "plugin_config.h"

#include <nbdkit-plugin.h>

#include <cinttypes>
#include <cstring>
#include <unistd.h>

#include "client/auth_handshake.h"
#include "cluster_key.h"
#include "proto/inode.h"
#include "size.h"

namespace plugin_config {

Config cfg;

namespace {

constexpr char kDefaultKeyFile[] = "/etc/sheepdog/auth-key";

// The cluster key our TCP connections prove; false (logged) if unreadable.
bool use_key_file(const char* path, const char* what) {
  sd::ClusterKey k;
  std::string why;
  if (!sd::ClusterKey::load(path, &k, &why)) {
    nbdkit_error("sheepdog: %scannot read the cluster key %s: %s", what, path, why.c_str());
    return false;
  }
  sd::set_client_key(k);
  return true;
}

}  // namespace

int config(const char* key, const char* value) {
  if (std::strcmp(key, "vdi") == 0) {
    if (!*value) {
      nbdkit_error("sheepdog: vdi: the VDI name must not be empty");
      return -1;
    }
    if (std::strlen(value) >= sd::kMaxVdiLen) {
      nbdkit_error("sheepdog: vdi: the VDI name must be shorter than %zu bytes", sd::kMaxVdiLen);
      return -1;
    }
    cfg.vdi = value;
  } else if (std::strcmp(key, "tag") == 0) {
    if (!*value) {
      nbdkit_error("sheepdog: tag: the snapshot tag must not be empty");
      return -1;
    }
    if (std::strlen(value) >= sd::kMaxVdiTagLen) {
      nbdkit_error("sheepdog: tag: the snapshot tag must be shorter than %zu bytes",
                   sd::kMaxVdiTagLen);
      return -1;
    }
    cfg.tag = value;
  } else if (std::strcmp(key, "snapid") == 0) {
    uint64_t id;
    if (!sd::parse_u64(value, UINT32_MAX, &id) || id == 0) {
      nbdkit_error("sheepdog: snapid: '%s' is not a snapshot id (1..%" PRIu32 ")", value,
                   UINT32_MAX);
      return -1;
    }
    cfg.snapid = uint32_t(id);
  } else if (std::strcmp(key, "address") == 0) {
    if (!*value) {
      nbdkit_error("sheepdog: address: must not be empty");
      return -1;
    }
    cfg.address = value;
    cfg.address_given = true;
  } else if (std::strcmp(key, "port") == 0) {
    uint64_t port;
    if (!sd::parse_u64(value, 65535, &port) || port == 0) {
      nbdkit_error("sheepdog: port: '%s' is not a port number (1..65535)", value);
      return -1;
    }
    cfg.port = uint16_t(port);
    cfg.port_given = true;
  } else if (std::strcmp(key, "socket") == 0) {
    if (!*value) {
      nbdkit_error("sheepdog: socket: the unix socket path must not be empty");
      return -1;
    }
    if (std::strlen(value) >= 108) {  // sizeof(sockaddr_un::sun_path)
      nbdkit_error("sheepdog: socket: the unix socket path '%s' is too long", value);
      return -1;
    }
    cfg.socket = value;
  } else if (std::strcmp(key, "auth-key") == 0) {
    if (!use_key_file(value, "auth-key: ")) return -1;
    cfg.key_given = true;
  } else if (std::strcmp(key, "readonly") == 0) {
    int v = nbdkit_parse_bool(value);
    if (v < 0) return -1;
    cfg.readonly = v;
  } else if (std::strcmp(key, "lock") == 0) {
    if (std::strcmp(value, "exclusive") == 0) {
      cfg.shared_lock = false;
    } else if (std::strcmp(value, "shared") == 0) {
      cfg.shared_lock = true;
    } else {
      nbdkit_error("sheepdog: lock: '%s' is not 'exclusive' or 'shared'", value);
      return -1;
    }
  } else if (std::strcmp(key, "local-read") == 0) {
    int v = nbdkit_parse_bool(value);
    if (v < 0) return -1;
    cfg.local_read = v;
  } else if (std::strcmp(key, "connections") == 0) {
    uint64_t n;
    if (!sd::parse_u64(value, 64, &n) || n == 0) {
      nbdkit_error("sheepdog: connections: '%s' is not a number of connections (1..64)", value);
      return -1;
    }
    cfg.connections = unsigned(n);
  } else if (std::strcmp(key, "direct") == 0) {
    int v = nbdkit_parse_bool(value);
    if (v < 0) return -1;
    cfg.direct = v;
  } else {
    nbdkit_error("sheepdog: unknown parameter '%s'", key);
    return -1;
  }
  return 0;
}

int config_complete() {
  // Without auth-key=, the default key file when there is one.
  if (!cfg.key_given && access(kDefaultKeyFile, F_OK) == 0 && !use_key_file(kDefaultKeyFile, ""))
    return -1;
  if (cfg.vdi.empty() && (!cfg.tag.empty() || cfg.snapid)) {
    nbdkit_error("sheepdog: tag and snapid need vdi=NAME");
    return -1;
  }
  if (!cfg.tag.empty() && cfg.snapid) {
    nbdkit_error("sheepdog: tag and snapid both name a snapshot: give only one of them");
    return -1;
  }
  if (!cfg.socket.empty() && (cfg.address_given || cfg.port_given)) {
    nbdkit_error("sheepdog: socket cannot be combined with address or port");
    return -1;
  }
  return 0;
}

}  // namespace plugin_config
