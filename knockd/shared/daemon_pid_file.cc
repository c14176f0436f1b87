#include "knockd/shared/daemon_pid_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

namespace knock {

namespace {

constexpr mode_t kPidFileMode = 0644;

bool ReadPid(const std::string& path, pid_t* out) {
  std::ifstream in(path);
  std::string text;
  if (!std::getline(in, text)) return false;
  const auto [ptr, ec] =
      std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size() && *out > 1;
}

// A pid file outlives a crash; the pid may since belong to another program.
bool IsKnockd(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string comm;
  return std::getline(in, comm) && comm == "knockd";
}

}  // namespace

std::string DaemonPidFilePath(const std::string& state_dir) {
  return state_dir + "/knockd.pid";
}

bool WriteDaemonPidFile(const std::string& state_dir, std::string* err) {
  const std::string path = DaemonPidFilePath(state_dir);
  const std::string temp = path + ".tmp";
  const std::string text = std::to_string(getpid()) + "\n";
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                      kPidFileMode);
  bool ok = fd >= 0 && write(fd, text.data(), text.size()) ==
                           static_cast<ssize_t>(text.size());
  const int saved = errno;
  if (fd >= 0) close(fd);
  if (ok && rename(temp.c_str(), path.c_str()) != 0) ok = false;
  if (!ok) {
    *err = path + ": cannot write the pid file (" +
           strerror(fd < 0 ? saved : errno) + ")";
    unlink(temp.c_str());
  }
  return ok;
}

void RemoveDaemonPidFile(const std::string& state_dir) {
  const std::string path = DaemonPidFilePath(state_dir);
  pid_t pid = 0;
  if (ReadPid(path, &pid) && pid == getpid()) unlink(path.c_str());
}

bool ReloadRunningDaemon(const std::string& state_dir, std::string* what,
                         std::string* err) {
  const std::string path = DaemonPidFilePath(state_dir);
  pid_t pid = 0;
  if (!ReadPid(path, &pid)) {
    *what = "knockd is not running (no " + path +
            "): the change takes effect when it starts";
    return true;
  }
  if (!IsKnockd(pid)) {
    *what = "knockd is not running (" + path + " names pid " +
            std::to_string(pid) +
            ", not a knockd): the change takes effect when it starts";
    return true;
  }
  if (kill(pid, SIGHUP) != 0) {
    *err = "cannot signal knockd pid " + std::to_string(pid) + " (from " +
           path + "): " + strerror(errno);
    return false;
  }
  *what = "reload: sent SIGHUP to knockd pid " + std::to_string(pid) +
          " (from " + path + ")";
  return true;
}

}  // namespace knock
