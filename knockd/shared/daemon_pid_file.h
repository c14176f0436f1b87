#pragma once
// Where a running knockd can be found: the helper writes its pid into
// the runtime directory, named by the configuration file it runs
// (/run/knockd/etc-knockd-knockd.toml.pid), and into <state_dir>/knockd.pid,
// so that `knockd reload`, `client add` and `remove` can ask it to reload
// without knowing whether systemd started it, and report its answer. The
// runtime name does not depend on what the configuration says, so an edited
// state_dir still finds the daemon that runs the old one.

#include <sys/types.h>

#include <string>
#include <vector>

namespace knock {

/// Where one running knockd leaves its pid and its answers to reloads.
struct DaemonFiles {
  std::string pid;
  std::string answer;
  /// The configuration the daemon found here must run (as
  /// NormalConfigPath gives it), or "" for any: a state directory may be
  /// named by another configuration file than the running daemon's.
  std::string config;
};

/// `config_path` absolute and lexically normal, not resolved through
/// links: the name of one configuration, whatever the current directory.
std::string NormalConfigPath(const std::string& config_path);

/// "<state_dir>/knockd.pid" and "<state_dir>/knockd.reload".
DaemonFiles StateDirDaemonFiles(const std::string& state_dir);
/// "<runtime_dir>/NAME.pid" and "NAME.reload", NAME the absolute path of the
/// configuration file with '/' as '-' (one daemon per configuration file).
DaemonFiles RuntimeDaemonFiles(const std::string& runtime_dir,
                               const std::string& config_path);
/// $RUNTIME_DIRECTORY where systemd's RuntimeDirectory= sets it, else
/// /run/knockd.
std::string DefaultRuntimeDirectory();
/// Where to look for the knockd that runs `config_path`: its runtime files
/// first, then those in `state_dir` (a knockd that could not write the
/// runtime directory, or an older one), where it must run `config_path`.
std::vector<DaemonFiles> DaemonFilesFor(const std::string& config_path,
                                        const std::string& state_dir);

/// Writes this process's pid (0644, atomic rename), and on a second line
/// "config PATH" the configuration it runs, when `config_path` is given.
bool WriteDaemonPidFile(const DaemonFiles& files,
                        const std::string& config_path, std::string* err);
/// Removes the pid file, and the reload answers beside it, if it still
/// names this process.
void RemoveDaemonPidFile(const DaemonFiles& files);

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
/// The same, with the first of `places` whose pid file exists (or cannot be
/// looked at); kNotRunning names every place looked at. A daemon whose pid
/// file names another configuration than the place's `config` is not
/// signalled (kFailed): it would reload its own file, not the asker's.
ReloadOutcome ReloadRunningDaemon(const std::vector<DaemonFiles>& places,
                                  int timeout_ms, std::string* message);

}  // namespace knock
