#include "knockd/sniffer/sniffer_confinement.h"

#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "knockd/shared/privileges.h"

namespace knock {

namespace {

constexpr mode_t kEmptyRootMode = 0555;

bool Fail(const std::string& what, std::string* err) {
  *err = what + ": " + strerror(errno);
  return false;
}

bool IsEmptyDirectory(const std::string& dir, std::string* err) {
  DIR* listing = opendir(dir.c_str());
  if (!listing) return Fail(dir + ": cannot list", err);
  std::string found;
  while (dirent* entry = readdir(listing)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") {
      found = name;
      break;
    }
  }
  closedir(listing);
  if (found.empty()) return true;
  *err = dir + ": the sniffer's root directory must be empty, but holds \"" +
         found + "\"";
  return false;
}

}  // namespace

bool LookUpSnifferAccount(const std::string& name, SnifferAccount* out,
                          std::string* err) {
  errno = 0;
  const passwd* entry = getpwnam(name.c_str());
  if (!entry) {
    *err = "user \"" + name +
           "\" (the account the packet sniffer runs as) does not exist; "
           "create it: useradd --system --no-create-home --home-dir "
           "/nonexistent --shell /usr/sbin/nologin " +
           name;
    return false;
  }
  if (entry->pw_uid == 0 || entry->pw_gid == 0) {
    *err = "user \"" + name +
           "\" has uid or gid 0; the packet sniffer needs an unprivileged "
           "account";
    return false;
  }
  out->name = name;
  out->uid = entry->pw_uid;
  out->gid = entry->pw_gid;
  return true;
}

bool PrepareEmptyRoot(const std::string& dir, std::string* err) {
  if (mkdir(dir.c_str(), kEmptyRootMode) != 0 && errno != EEXIST)
    return Fail(dir + ": cannot create the sniffer's root directory", err);
  struct stat info;
  if (lstat(dir.c_str(), &info) != 0) return Fail(dir, err);
  if (!S_ISDIR(info.st_mode)) {
    *err = dir + ": the sniffer's root directory is not a directory";
    return false;
  }
  // Owned by root or by the daemon's own account (systemd's User=), and
  // writable by nobody: the sniffer must find nothing it could use there.
  if (info.st_uid != 0 && info.st_uid != geteuid() &&
      chown(dir.c_str(), geteuid(), getegid()) != 0)
    return Fail(dir + ": cannot take the sniffer's root directory", err);
  if ((info.st_mode & 0222) != 0 && chmod(dir.c_str(), kEmptyRootMode) != 0)
    return Fail(dir + ": cannot make the sniffer's root read-only", err);
  return IsEmptyDirectory(dir, err);
}

bool CloseDescriptorsExcept(std::vector<int> keep_fds, std::string* err) {
  keep_fds.push_back(STDIN_FILENO);
  keep_fds.push_back(STDOUT_FILENO);
  keep_fds.push_back(STDERR_FILENO);
  std::sort(keep_fds.begin(), keep_fds.end());
  keep_fds.erase(std::unique(keep_fds.begin(), keep_fds.end()), keep_fds.end());
  unsigned first = 0;
  for (int fd : keep_fds) {
    if (fd < 0) continue;
    if (static_cast<unsigned>(fd) > first &&
        syscall(SYS_close_range, first, fd - 1, 0) != 0)
      return Fail("close_range", err);
    first = static_cast<unsigned>(fd) + 1;
  }
  if (syscall(SYS_close_range, first, UINT_MAX, 0) != 0)
    return Fail("close_range", err);
  return true;
}

bool ConfineToAccount(const SnifferAccount& account,
                      const std::string& empty_root, std::string* err) {
  if (chroot(empty_root.c_str()) != 0 || chdir("/") != 0)
    return Fail("chroot to " + empty_root, err);
  if (!DropBoundingSetExcept({}, err)) return false;
  if (setgroups(0, nullptr) != 0) return Fail("setgroups", err);
  if (setresgid(account.gid, account.gid, account.gid) != 0)
    return Fail("setresgid " + std::to_string(account.gid), err);
  if (setresuid(account.uid, account.uid, account.uid) != 0)
    return Fail("setresuid " + std::to_string(account.uid), err);
  // Leaving uid 0 clears the sets by itself, but a helper that already runs
  // as the account (systemd's User= with ambient capabilities) changes no
  // uid here: clear them explicitly.
  if (!SetCapabilities({}, err)) return false;
  if (setuid(0) == 0) {
    *err =
        "the sniffer could become root again after dropping to " + account.name;
    return false;
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return Fail("no_new_privs", err);
  // Not dumpable: no other process of the account may ptrace it or read its
  // memory through /proc.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return Fail("not dumpable", err);
  return true;
}

}  // namespace knock
