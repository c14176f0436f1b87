#pragma once
// Running an administrator's command from the daemon: no shell, no
// inherited descriptors or signal mask, stdin from /dev/null, and a hard
// bound on how long it may take.

#include <cstdint>
#include <string>
#include <vector>

namespace knock {

/// Runs `argv` (argv[0] an absolute path, executed with execv: no PATH
/// search, so nothing on PATH can stand in for it) and waits for it, at
/// most `timeout_ms`; then SIGKILL goes to its process group. Its stdout
/// and stderr are captured to report why it failed. True when it exited
/// with status 0; otherwise `err` says how it ended, quoting argv[0]:
///   `"/usr/local/sbin/hole" exited with status 3: no such set`
///   `"/usr/local/sbin/hole" was killed by signal 15`
///   `"/usr/local/sbin/hole" did not finish within 5000ms; killed it`
///   `cannot run "/usr/local/sbin/hole": No such file or directory`
/// The caller must not ignore SIGCHLD (the child would be reaped for it).
bool RunBoundedCommand(const std::vector<std::string>& argv, int64_t timeout_ms,
                       std::string* err);

}  // namespace knock
