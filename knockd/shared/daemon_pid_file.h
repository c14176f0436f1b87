#pragma once
// Where a running knockd can be found: the helper writes its pid into
// <state_dir>/knockd.pid, so that `knockd client add` and `remove` can ask
// it to reload without knowing whether systemd started it.

#include <sys/types.h>

#include <string>

namespace knock {

/// "<state_dir>/knockd.pid".
std::string DaemonPidFilePath(const std::string& state_dir);

/// Writes this process's pid (0644, atomic rename).
bool WriteDaemonPidFile(const std::string& state_dir, std::string* err);
/// Removes the pid file if it still names this process.
void RemoveDaemonPidFile(const std::string& state_dir);

/// Sends SIGHUP to the knockd the pid file names. `what` says what happened
/// in one line: the pid and the file it came from, or why no signal went
/// (no pid file: knockd is not running; a stale one). False only when a
/// running knockd could not be signalled.
bool ReloadRunningDaemon(const std::string& state_dir, std::string* what,
                         std::string* err);

}  // namespace knock
