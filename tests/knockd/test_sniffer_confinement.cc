// Confining the forked sniffer: its account, its empty root directory, its
// descriptors, and in a child process the whole drop (chroot, uid, no
// capabilities, no_new_privs) checked from the inside.
#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "knockd/sniffer/sniffer_confinement.h"

namespace {

constexpr int kChildTimeoutMs = 10000;
constexpr int kChildPollMs = 10;

/// A scratch directory under /tmp, removed with everything in it at the end.
class ScratchDir {
 public:
  ScratchDir() {
    char path[] = "/tmp/knock-confinement.XXXXXX";
    REQUIRE(mkdtemp(path) != nullptr);
    path_ = path;
  }
  ~ScratchDir() {
    std::error_code ignored;
    // The empty root is 0555: make it writable again so its test file goes.
    std::filesystem::permissions(path_ + "/root",
                                 std::filesystem::perms::owner_all, ignored);
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool IsRoot() {
  if (geteuid() == 0) return true;
  WARN("not root: confinement not exercised");
  return false;
}

mode_t ModeOf(const std::string& path) {
  struct stat info;
  REQUIRE(lstat(path.c_str(), &info) == 0);
  return info.st_mode;
}

/// Exit codes of the confined child, one per check.
enum ChildExit {
  kChildOk = 0,
  kCloseFailed = 10,
  kDroppedFdStillOpen = 11,
  kKeptFdClosed = 12,
  kConfineFailed = 13,
  kWrongIds = 14,
  kGroupsLeft = 15,
  kStatusUnreadable = 16,
  kCapabilitiesLeft = 17,
  kNoNewPrivsUnset = 18,
  kRootNotEmpty = 19,
  kBecameRootAgain = 20,
  kOutsideVisible = 21,
  kInheritableNotRaised = 22,
};

const char* DescribeChildExit(int code) {
  switch (code) {
    case kChildOk:
      return "ok";
    case kCloseFailed:
      return "CloseDescriptorsExcept failed";
    case kDroppedFdStillOpen:
      return "a descriptor not kept is still open";
    case kKeptFdClosed:
      return "a kept descriptor was closed";
    case kConfineFailed:
      return "ConfineToAccount failed";
    case kWrongIds:
      return "uid or gid is not nobody's";
    case kGroupsLeft:
      return "supplementary groups left";
    case kStatusUnreadable:
      return "/proc/self/status unreadable";
    case kCapabilitiesLeft:
      return "a capability set is not empty";
    case kNoNewPrivsUnset:
      return "NoNewPrivs is not 1";
    case kRootNotEmpty:
      return "\"/\" is not the empty directory";
    case kBecameRootAgain:
      return "setuid(0) succeeded";
    case kOutsideVisible:
      return "a path outside the chroot is visible";
    case kInheritableNotRaised:
      return "could not raise an inheritable capability before the drop";
  }
  return "unexpected exit code";
}

/// The value of `field` in /proc/self/status text, "" if absent.
std::string StatusField(const std::string& status, const std::string& field) {
  const std::string key = "\n" + field + ":\t";
  const size_t start = status.find(key);
  if (start == std::string::npos) return "";
  const size_t value = start + key.size();
  return status.substr(value, status.find('\n', value) - value);
}

/// Puts CAP_NET_RAW in the inheritable set, as a parent started with
/// inheritable capabilities would leave it, so that the drop has one to
/// clear.
bool RaiseInheritable() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  data[0].inheritable |= 1u << CAP_NET_RAW;
  return syscall(SYS_capset, &header, data) == 0;
}

/// Everything below runs in the forked child: no Catch2 macros, exit codes
/// only.
int ConfinedChild(const knock::SnifferAccount& account,
                  const std::string& empty_root) {
  const int status_fd = open("/proc/self/status", O_RDONLY);
  const int dropped_fd = open("/dev/null", O_RDONLY);
  std::string err;
  if (status_fd < 0 || dropped_fd < 0 ||
      !knock::CloseDescriptorsExcept({status_fd}, &err))
    return kCloseFailed;
  if (fcntl(dropped_fd, F_GETFD) != -1 || errno != EBADF)
    return kDroppedFdStillOpen;
  if (fcntl(status_fd, F_GETFD) == -1) return kKeptFdClosed;

  if (!RaiseInheritable()) return kInheritableNotRaised;
  if (!knock::ConfineToAccount(account, empty_root, &err))
    return kConfineFailed;

  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  if (getresuid(&ruid, &euid, &suid) != 0 ||
      getresgid(&rgid, &egid, &sgid) != 0 || ruid != account.uid ||
      euid != account.uid || suid != account.uid || rgid != account.gid ||
      egid != account.gid || sgid != account.gid)
    return kWrongIds;
  if (getgroups(0, nullptr) != 0) return kGroupsLeft;

  // /proc is outside the chroot; the descriptor opened before still reads
  // this process's current status.
  char buffer[8192];
  const ssize_t got = pread(status_fd, buffer, sizeof buffer - 1, 0);
  if (got <= 0) return kStatusUnreadable;
  const std::string status(buffer, static_cast<size_t>(got));
  for (const char* field : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
    if (StatusField(status, field) != "0000000000000000")
      return kCapabilitiesLeft;
  if (StatusField(status, "NoNewPrivs") != "1") return kNoNewPrivsUnset;

  DIR* listing = opendir("/");
  if (!listing) return kRootNotEmpty;
  int entries = 0;
  while (dirent* entry = readdir(listing)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") ++entries;
  }
  closedir(listing);
  if (entries != 0) return kRootNotEmpty;
  if (access("/etc/passwd", F_OK) == 0 || access("/proc", F_OK) == 0)
    return kOutsideVisible;
  if (setuid(0) == 0 || seteuid(0) == 0) return kBecameRootAgain;
  return kChildOk;
}

/// Waits for `child` at most kChildTimeoutMs, then kills it.
int WaitBounded(pid_t child) {
  int status = 0;
  for (int waited_ms = 0; waited_ms < kChildTimeoutMs;
       waited_ms += kChildPollMs) {
    const pid_t done = waitpid(child, &status, WNOHANG);
    if (done == child) return status;
    if (done < 0) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(kChildPollMs));
  }
  kill(child, SIGKILL);
  waitpid(child, &status, 0);
  return -1;
}

}  // namespace

TEST_CASE("the sniffer may not run as root", "[privsep]") {
  knock::SnifferAccount account;
  std::string err;
  CHECK_FALSE(knock::LookUpSnifferAccount("root", &account, &err));
  CHECK(err ==
        "user \"root\" has uid or gid 0; the packet sniffer needs an "
        "unprivileged account");
}

TEST_CASE("a missing sniffer account names the command that creates it",
          "[privsep]") {
  knock::SnifferAccount account;
  std::string err;
  CHECK_FALSE(
      knock::LookUpSnifferAccount("knock-no-such-user", &account, &err));
  CHECK(err ==
        "user \"knock-no-such-user\" (the account the packet sniffer runs "
        "as) does not exist; create it: useradd --system --no-create-home "
        "--home-dir /nonexistent --shell /usr/sbin/nologin "
        "knock-no-such-user");
}

TEST_CASE("an unprivileged account is looked up", "[privsep]") {
  const passwd* nobody = getpwnam("nobody");
  REQUIRE(nobody != nullptr);
  knock::SnifferAccount account;
  std::string err;
  INFO(err);
  REQUIRE(knock::LookUpSnifferAccount("nobody", &account, &err));
  CHECK(account.name == "nobody");
  CHECK(account.uid == nobody->pw_uid);
  CHECK(account.gid == nobody->pw_gid);
  CHECK(account.uid != 0);
}

TEST_CASE("the empty root is created read-only", "[privsep]") {
  if (!IsRoot()) return;
  const ScratchDir scratch;
  const std::string root = scratch.path() + "/root";
  std::string err;
  INFO(err);
  REQUIRE(knock::PrepareEmptyRoot(root, &err));
  CHECK((ModeOf(root) & 07777) == 0555);
  CHECK(S_ISDIR(ModeOf(root)));
  // Preparing again leaves it as it is.
  REQUIRE(knock::PrepareEmptyRoot(root, &err));
  CHECK((ModeOf(root) & 07777) == 0555);
}

TEST_CASE("a writable empty root is made read-only", "[privsep]") {
  if (!IsRoot()) return;
  const ScratchDir scratch;
  const std::string root = scratch.path() + "/root";
  REQUIRE(mkdir(root.c_str(), 0700) == 0);
  REQUIRE(chmod(root.c_str(), 0777) == 0);
  REQUIRE(chown(root.c_str(), 65534, 65534) == 0);
  std::string err;
  INFO(err);
  REQUIRE(knock::PrepareEmptyRoot(root, &err));
  struct stat info;
  REQUIRE(lstat(root.c_str(), &info) == 0);
  CHECK((info.st_mode & 07777) == 0555);
  CHECK(info.st_uid == 0);
  CHECK(info.st_gid == 0);
}

TEST_CASE("a root directory that is not empty is refused", "[privsep]") {
  if (!IsRoot()) return;
  const ScratchDir scratch;
  const std::string root = scratch.path() + "/root";
  REQUIRE(mkdir(root.c_str(), 0755) == 0);
  std::ofstream(root + "/leftover") << "x";
  std::string err;
  CHECK_FALSE(knock::PrepareEmptyRoot(root, &err));
  CHECK(err == root +
                   ": the sniffer's root directory must be empty, but holds "
                   "\"leftover\"");
}

TEST_CASE("a root that is not a directory is refused", "[privsep]") {
  const ScratchDir scratch;
  std::string err;
  const std::string file = scratch.path() + "/root";
  std::ofstream(file) << "x";
  CHECK_FALSE(knock::PrepareEmptyRoot(file, &err));
  CHECK(err == file + ": the sniffer's root directory is not a directory");

  const std::string link = scratch.path() + "/link";
  REQUIRE(symlink("/", link.c_str()) == 0);
  CHECK_FALSE(knock::PrepareEmptyRoot(link, &err));
  CHECK(err == link + ": the sniffer's root directory is not a directory");

  const std::string orphan = scratch.path() + "/missing/root";
  CHECK_FALSE(knock::PrepareEmptyRoot(orphan, &err));
  CHECK(err == orphan +
                   ": cannot create the sniffer's root directory: No such "
                   "file or directory");
}

TEST_CASE("chroot to a missing directory fails naming it", "[privsep]") {
  if (!IsRoot()) return;
  knock::SnifferAccount account;
  std::string err;
  REQUIRE(knock::LookUpSnifferAccount("nobody", &account, &err));
  CHECK_FALSE(
      knock::ConfineToAccount(account, "/nonexistent/knock-root", &err));
  CHECK(err == "chroot to /nonexistent/knock-root: No such file or directory");
}

TEST_CASE("a confined child is nobody in an empty root with no powers",
          "[privsep]") {
  if (!IsRoot()) return;
  knock::SnifferAccount account;
  std::string err;
  INFO(err);
  REQUIRE(knock::LookUpSnifferAccount("nobody", &account, &err));
  const ScratchDir scratch;
  const std::string root = scratch.path() + "/root";
  REQUIRE(knock::PrepareEmptyRoot(root, &err));

  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) _exit(ConfinedChild(account, root));
  const int status = WaitBounded(child);
  REQUIRE(status != -1);
  REQUIRE(WIFEXITED(status));
  INFO(DescribeChildExit(WEXITSTATUS(status)));
  CHECK(WEXITSTATUS(status) == kChildOk);
}
