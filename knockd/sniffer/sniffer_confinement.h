#pragma once
// Taking every power from the forked sniffer before it reads a packet: its
// own unprivileged account, an empty root directory, no descriptors but
// the ones it needs, no capabilities, no way to regain any.

#include <sys/types.h>

#include <string>
#include <vector>

namespace knock {

/// The account the sniffer runs as, resolved while /etc/passwd is visible.
struct SnifferAccount {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

/// Looks up `name`; root or a missing account is refused, naming the
/// command that creates a suitable one.
bool LookUpSnifferAccount(const std::string& name, SnifferAccount* out,
                          std::string* err);

/// Makes sure `dir` exists, is owned by root or this process's user, is
/// writable by nobody and is empty: the sniffer's root directory.
bool PrepareEmptyRoot(const std::string& dir, std::string* err);

/// Closes every descriptor but stdin, stdout, stderr and `keep_fds`.
bool CloseDescriptorsExcept(std::vector<int> keep_fds, std::string* err);

/// chroot to `empty_root`, drop every capability (bounding set included),
/// switch to `account` with no supplementary groups and set no_new_privs.
/// Fails naming the step.
bool ConfineToAccount(const SnifferAccount& account,
                      const std::string& empty_root, std::string* err);

}  // namespace knock
