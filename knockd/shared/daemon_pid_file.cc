#include "knockd/shared/daemon_pid_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "knockd/shared/reload_answer.h"
#include "knockd/shared/replace_small_file.h"

namespace knock {

namespace {

constexpr mode_t kPidFileMode = 0644;
constexpr int kAnswerPollMs = 20;
constexpr char kRuntimeDirectory[] = "/run/knockd";
// Room for ".reload" and ".tmp" within NAME_MAX.
constexpr size_t kMaxRuntimeNameBytes = 200;

constexpr char kConfigLinePrefix[] = "config ";

// The pid on the first line; `config` gets the second line's path, or ""
// from a pid file without one (an older knockd's).
bool ReadPid(const std::string& path, pid_t* out,
             std::string* config = nullptr) {
  std::ifstream in(path);
  std::string text;
  if (!std::getline(in, text)) return false;
  const auto [ptr, ec] =
      std::from_chars(text.data(), text.data() + text.size(), *out);
  if (ec != std::errc() || ptr != text.data() + text.size() || *out <= 1)
    return false;
  if (config != nullptr) {
    config->clear();
    if (std::getline(in, text) && text.starts_with(kConfigLinePrefix))
      *config = text.substr(sizeof kConfigLinePrefix - 1);
  }
  return true;
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

// One file under two spellings (a linked /etc/knockd) is the same
// configuration: only another file is refused.
bool SameConfig(const std::string& running, const std::string& asked) {
  if (running == asked) return true;
  std::error_code ec;
  return std::filesystem::equivalent(running, asked, ec) && !ec;
}

bool IsAlive(pid_t pid) { return kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

std::string DaemonPidFilePath(const std::string& state_dir) {
  return StateDirDaemonFiles(state_dir).pid;
}

DaemonFiles StateDirDaemonFiles(const std::string& state_dir) {
  return {state_dir + "/knockd.pid", ReloadAnswerPath(state_dir), ""};
}

std::string NormalConfigPath(const std::string& config_path) {
  // The path as named, not resolved: a configuration that is a link
  // switched to each new release must keep its daemon's name.
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(config_path, ec);
  if (ec) absolute = config_path;
  return absolute.lexically_normal().string();
}

DaemonFiles RuntimeDaemonFiles(const std::string& runtime_dir,
                               const std::string& config_path) {
  std::string name = NormalConfigPath(config_path);
  if (!name.empty() && name[0] == '/') name.erase(0, 1);
  for (char& c : name)
    if (c == '/') c = '-';
  if (name.size() > kMaxRuntimeNameBytes)
    name = name.substr(name.size() - kMaxRuntimeNameBytes);
  const std::string base = runtime_dir + "/" + name;
  return {base + ".pid", base + ".reload", ""};
}

std::string DefaultRuntimeDirectory() {
  // systemd may list several, separated by ':'; knockd's unit names one.
  const char* from_systemd = getenv("RUNTIME_DIRECTORY");
  if (from_systemd == nullptr || from_systemd[0] != '/')
    return kRuntimeDirectory;
  const std::string value = from_systemd;
  return value.substr(0, value.find(':'));
}

std::vector<DaemonFiles> DaemonFilesFor(const std::string& config_path,
                                        const std::string& state_dir) {
  DaemonFiles in_state = StateDirDaemonFiles(state_dir);
  in_state.config = NormalConfigPath(config_path);
  return {RuntimeDaemonFiles(DefaultRuntimeDirectory(), config_path), in_state};
}

bool WriteDaemonPidFile(const std::string& state_dir, std::string* err) {
  return WriteDaemonPidFile(StateDirDaemonFiles(state_dir), "", err);
}

bool WriteDaemonPidFile(const DaemonFiles& files,
                        const std::string& config_path, std::string* err) {
  std::string text = std::to_string(getpid()) + "\n";
  if (!config_path.empty())
    text += kConfigLinePrefix + NormalConfigPath(config_path) + "\n";
  return ReplaceSmallFile(files.pid, text, kPidFileMode, "pid file", err);
}

void RemoveDaemonPidFile(const std::string& state_dir) {
  RemoveDaemonPidFile(StateDirDaemonFiles(state_dir));
}

void RemoveDaemonPidFile(const DaemonFiles& files) {
  pid_t pid = 0;
  if (!ReadPid(files.pid, &pid) || pid != getpid()) return;
  // The answers go with the daemon that gave them.
  unlink(files.answer.c_str());
  unlink(files.pid.c_str());
}

ReloadOutcome ReloadRunningDaemon(const std::string& state_dir, int timeout_ms,
                                  std::string* message) {
  return ReloadRunningDaemon(std::vector{StateDirDaemonFiles(state_dir)},
                             timeout_ms, message);
}

ReloadOutcome ReloadRunningDaemon(const std::vector<DaemonFiles>& places,
                                  int timeout_ms, std::string* message) {
  // The first place whose pid file names a live knockd. Only missing pid
  // files, or ones naming no knockd, mean "not running": one this user may
  // not read (knockd's state directory is 0700) says nothing either way.
  const DaemonFiles* found = nullptr;
  pid_t pid = 0;
  std::string unreadable, not_running, running_config;
  for (const DaemonFiles& place : places) {
    struct stat info;
    if (stat(place.pid.c_str(), &info) != 0) {
      const int error = errno;
      if (error == ENOENT)
        not_running += (not_running.empty() ? "no " : " nor ") + place.pid;
      else if (unreadable.empty())
        unreadable = "cannot read " + place.pid + " (" + strerror(error) +
                     "): is this knockd's account or root?";
      continue;
    }
    if (!ReadPid(place.pid, &pid, &running_config)) {
      not_running += (not_running.empty() ? "no " : " nor ") + place.pid;
      continue;
    }
    if (IsKnockd(pid)) {
      found = &place;
      break;
    }
    not_running += std::string(not_running.empty() ? "" : "; ") + place.pid +
                   " names pid " + std::to_string(pid) + ", not a knockd";
  }
  if (found == nullptr && !unreadable.empty()) {
    *message = unreadable;
    return ReloadOutcome::kFailed;
  }
  if (found == nullptr) {
    *message = "knockd is not running (" + not_running + ")";
    return ReloadOutcome::kNotRunning;
  }
  const std::string& path = found->pid;
  const std::string who = "knockd pid " + std::to_string(pid);
  if (!found->config.empty() && !running_config.empty() &&
      !SameConfig(running_config, found->config)) {
    *message = who + " (from " + path + ") runs " + running_config + ", not " +
               found->config + ": nothing was signalled; reload it with -c " +
               running_config;
    return ReloadOutcome::kFailed;
  }
  // The token tells this request's answer from any other's; the time, an
  // answer that covers it (a reload that began after it was sent).
  const ReloadRequest request{
      getpid(), static_cast<int32_t>(1 + randombytes_uniform(INT32_MAX - 1))};
  const int64_t requested_ns = ReloadClockNanos();
  sigval value{};
  value.sival_int = request.token;
  if (sigqueue(pid, SIGHUP, value) != 0) {
    *message =
        "cannot signal " + who + " (from " + path + "): " + strerror(errno);
    return ReloadOutcome::kFailed;
  }
  for (int waited_ms = 0;; waited_ms += kAnswerPollMs) {
    std::vector<ReloadAnswer> answers;
    const ReloadAnswer* answer =
        ReadReloadAnswersFile(found->answer, &answers)
            ? FindReloadAnswer(answers, request, requested_ns)
            : nullptr;
    if (answer != nullptr) {
      *message = who + ": " + answer->message;
      if (!(answer->request == request))
        *message += " (a reload that began after this request)";
      return answer->accepted ? ReloadOutcome::kReloaded
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
