#include "knockd/shared/daemon_pid_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <fstream>

#include "knockd/shared/reload_answer.h"
#include "knockd/shared/replace_small_file.h"

namespace knock {

namespace {

constexpr mode_t kPidFileMode = 0644;
constexpr int kAnswerPollMs = 20;

bool ReadPid(const std::string& path, pid_t* out) {
  std::ifstream in(path);
  std::string text;
  if (!std::getline(in, text)) return false;
  const auto [ptr, ec] =
      std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size() && *out > 1;
}

// A pid file outlives a crash; the pid may since belong to another program.
// Where /proc hides the process (the unit's ProtectProc=invisible hides the
// non-dumpable helper from `knockd reload`, its ExecReload, though both run
// as knockd), a live process this account may signal stands in: under the
// unit only knockd's own processes run as that account.
bool IsKnockd(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string comm;
  if (std::getline(in, comm)) return comm == "knockd";
  return kill(pid, 0) == 0;
}

bool IsAlive(pid_t pid) { return kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

std::string DaemonPidFilePath(const std::string& state_dir) {
  return state_dir + "/knockd.pid";
}

bool WriteDaemonPidFile(const std::string& state_dir, std::string* err) {
  const std::string path = DaemonPidFilePath(state_dir);
  return ReplaceSmallFile(path, std::to_string(getpid()) + "\n", kPidFileMode,
                          "pid file", err);
}

void RemoveDaemonPidFile(const std::string& state_dir) {
  const std::string path = DaemonPidFilePath(state_dir);
  pid_t pid = 0;
  if (ReadPid(path, &pid) && pid == getpid()) unlink(path.c_str());
}

ReloadOutcome ReloadRunningDaemon(const std::string& state_dir, int timeout_ms,
                                  std::string* message) {
  const std::string path = DaemonPidFilePath(state_dir);
  pid_t pid = 0;
  // Only a missing pid file means "not running": one this user may not
  // read (knockd's state directory is 0700) says nothing either way.
  struct stat info;
  if (stat(path.c_str(), &info) != 0 && errno != ENOENT) {
    *message = "cannot read " + path + " (" + strerror(errno) +
               "): is this knockd's account or root?";
    return ReloadOutcome::kFailed;
  }
  if (!ReadPid(path, &pid)) {
    *message = "knockd is not running (no " + path + ")";
    return ReloadOutcome::kNotRunning;
  }
  const std::string who = "knockd pid " + std::to_string(pid);
  if (!IsKnockd(pid)) {
    *message = "knockd is not running (" + path + " names pid " +
               std::to_string(pid) + ", not a knockd)";
    return ReloadOutcome::kNotRunning;
  }
  // The token tells this request's answer from any other's.
  const ReloadRequest request{
      getpid(), static_cast<int32_t>(1 + randombytes_uniform(INT32_MAX - 1))};
  sigval value{};
  value.sival_int = request.token;
  if (sigqueue(pid, SIGHUP, value) != 0) {
    *message =
        "cannot signal " + who + " (from " + path + "): " + strerror(errno);
    return ReloadOutcome::kFailed;
  }
  for (int waited_ms = 0;; waited_ms += kAnswerPollMs) {
    ReloadAnswer answer;
    if (ReadReloadAnswer(state_dir, &answer) && answer.request == request) {
      *message = who + ": " + answer.message;
      return answer.accepted ? ReloadOutcome::kReloaded
                             : ReloadOutcome::kFailed;
    }
    if (!IsAlive(pid)) {
      *message = who + " stopped before it answered the reload (see its log)";
      return ReloadOutcome::kFailed;
    }
    if (waited_ms >= timeout_ms) {
      *message = who + " did not answer the reload within " +
                 std::to_string(timeout_ms / 1000) + " s (see its log)";
      return ReloadOutcome::kFailed;
    }
    usleep(kAnswerPollMs * 1000);
  }
}

}  // namespace knock
