#include "knockd/shared/privileges.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace knock {

namespace {

constexpr int kLastCapabilityProbeLimit = 64;

bool Wanted(const std::vector<int>& capabilities, int cap) {
  return std::find(capabilities.begin(), capabilities.end(), cap) !=
         capabilities.end();
}

}  // namespace

bool DropBoundingSetExcept(const std::vector<int>& capabilities,
                           std::string* err) {
  for (int cap = 0; cap < kLastCapabilityProbeLimit; ++cap) {
    if (Wanted(capabilities, cap)) continue;
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      *err = "cannot drop capability " + std::to_string(cap) +
             " from the bounding set: " + strerror(errno);
      return false;
    }
  }
  return true;
}

bool SetCapabilities(const std::vector<int>& capabilities, std::string* err) {
  // Ambient capabilities would come back to life in an exec'd child.
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
    *err = std::string("cannot clear the ambient capabilities: ") +
           strerror(errno);
    return false;
  }
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  for (int cap : capabilities) {
    data[cap / 32].permitted |= 1u << (cap % 32);
    data[cap / 32].effective |= 1u << (cap % 32);
  }
  if (syscall(SYS_capset, &header, data) != 0) {
    *err = std::string("cannot set capabilities: ") + strerror(errno);
    return false;
  }
  return true;
}

bool KeepOnlyCapabilities(const std::vector<int>& capabilities,
                          std::string* err) {
  // The bounding set first, while CAP_SETPCAP is still ours.
  if (!DropBoundingSetExcept(capabilities, err) ||
      !SetCapabilities(capabilities, err))
    return false;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    *err = std::string("cannot set no_new_privs: ") + strerror(errno);
    return false;
  }
  return true;
}

bool EffectiveCapabilities(unsigned long long* mask, std::string* err) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("CapEff:", 0) == 0) {
      *mask = std::stoull(line.substr(7), nullptr, 16);
      return true;
    }
  }
  *err = "no CapEff line in /proc/self/status";
  return false;
}

}  // namespace knock
