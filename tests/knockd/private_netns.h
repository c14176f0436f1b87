#pragma once
// A network namespace of its own for the root-only unit tests that drive the
// kernel's nftables (nftables_firewall, ruleset_monitor).

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <string>

/// Runs `body` in a forked child inside a network namespace of its own, so
/// that nothing touches the host's ruleset and the namespace dies with the
/// child; the child is killed (SIGALRM) after `timeout_seconds`. The child
/// cannot use Catch, so `body` returns "" or what failed, and so does this.
inline std::string InPrivateNetns(const std::function<std::string()>& body,
                                  unsigned timeout_seconds) {
  int report[2];
  REQUIRE(pipe(report) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(report[0]);
    alarm(timeout_seconds);  // a hang must not hang the suite
    const std::string result =
        unshare(CLONE_NEWNET) == 0
            ? body()
            : std::string("unshare(CLONE_NEWNET) failed");
    ssize_t ignored = write(report[1], result.data(), result.size());
    (void)ignored;
    _exit(result.empty() ? 0 : 1);
  }
  close(report[1]);
  std::string result;
  char buffer[512];
  ssize_t n;
  while ((n = read(report[0], buffer, sizeof buffer)) > 0)
    result.append(buffer, n);
  close(report[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (result.empty() && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
    result = "child ended with wait status " + std::to_string(status);
  return result;
}
