#pragma once
// Where a running knockd can be found: the helper writes its pid into
// <state_dir>/knockd.pid, so that `knockd reload`, `client add` and
// `remove` can ask it to reload without knowing whether systemd started it,
// and report its answer.

#include <sys/types.h>

#include <string>

namespace knock {

/// "<state_dir>/knockd.pid".
std::string DaemonPidFilePath(const std::string& state_dir);

/// Writes this process's pid (0644, atomic rename).
bool WriteDaemonPidFile(const std::string& state_dir, std::string* err);
/// Removes the pid file if it still names this process.
void RemoveDaemonPidFile(const std::string& state_dir);

/// How long a reload waits for the daemon's answer: deriving the
/// sequences of many clients and the sniffer's turn take a while.
inline constexpr int kReloadAnswerTimeoutMs = 60000;

/// What came of asking the running knockd to reload.
enum class ReloadOutcome {
  kNotRunning,  // no pid file, or it names no knockd: nothing was signalled
  kReloaded,    // the daemon took the new configuration
  kFailed,      // it refused, stopped, never answered, or was not signalled
};

/// Sends SIGHUP, with a random token (sigqueue), to the knockd the pid file
/// names and waits up to `timeout_ms` for its answer in
/// <state_dir>/knockd.reload (reload_answer.h). `message` says what
/// happened in one line, naming the pid: for kNotRunning why not, for
/// kReloaded the daemon's own line, for kFailed its refusal (which names
/// the key that needs a restart) or why no answer came.
ReloadOutcome ReloadRunningDaemon(const std::string& state_dir, int timeout_ms,
                                  std::string* message);

}  // namespace knock
