#pragma once
// The "command" backend: the administrator's own programs open and close
// holes (ipset, a cloud security group, another firewall's CLI). knockd
// keeps the deadlines and runs close_command itself when they pass.

#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.h"
#include "knockd/shared/firewall.h"

namespace knock {

/// How long one open or close command may run before it is killed.
constexpr int64_t kCommandTimeoutMs = 5000;
/// After a close command failed, how long until it is tried again: a hole
/// must not stay open because one close failed.
constexpr int64_t kCloseRetryMs = 5000;

/// The values of one command's placeholders, as text.
struct CommandValues {
  std::string ip;       // {ip}: "198.18.0.7", "2001:db8::7"
  std::string family;   // {family}: "ipv4" or "ipv6"
  std::string proto;    // {proto}: "tcp" or "udp"
  std::string port;     // {port}: "22"
  std::string timeout;  // {timeout}: whole seconds, rounded up
  std::string client;   // {client}
  std::string service;  // {service}
};

/// Replaces every known placeholder in every argument, in one pass (a value
/// that contains braces is not expanded again). Unknown ones stay as text.
std::vector<std::string> ExpandCommand(const std::vector<std::string>& argv,
                                       const CommandValues& values);

/// Refuses an expansion in which a placeholder's value made an argument
/// start with '-' when the configured argument did not: the program would
/// read the value as an option. Names are checked at load so that this
/// cannot happen; it is the last line, refusing rather than guarding with
/// "--" (which not every program takes and which would change the argv the
/// administrator wrote). The error names the argument:
/// `argument 3 "{client}" would be "-x", an option; not run`.
bool CheckNoOptionInjected(const std::vector<std::string>& argv,
                           const std::vector<std::string>& expanded,
                           std::string* err);

/// Checks an open_command or close_command at configuration load: not
/// empty, argv[0] an absolute path (it is run with execv, never through a
/// shell or PATH), and placeholders as CheckCommandPlaceholders wants them.
bool CheckFirewallCommand(const std::vector<std::string>& argv,
                          std::string* err);

/// Enforces grants by running open_command when a hole opens and
/// close_command when its deadline passes (at the first Tick after it).
/// Commands run synchronously, one per service port, each bounded by
/// `command_timeout_ms`: a Tick that closes k holes can hold the packet
/// loop for up to k times that bound, which the kernel's capture buffer
/// absorbs; a slow close command is the administrator's to fix.
/// A refresh (Open of a live source, transport and port) extends the
/// deadline and runs nothing: close_command is what ends a hole, so an open
/// command that also sets its own timeout would close a refreshed hole
/// early.
class CommandFirewall : public Firewall {
 public:
  CommandFirewall(std::vector<std::string> open_command,
                  std::vector<std::string> close_command, const Clock* clock,
                  int64_t command_timeout_ms = kCommandTimeoutMs);

  /// Runs nothing (the administrator's commands own their firewall); checks
  /// that both commands are well formed and executable.
  bool Setup(const FirewallLayout& layout, std::string* err) override;
  bool Open(const Grant& grant, std::string* err) override;
  void Tick(int64_t now_ms) override;
  /// Closes every live hole now.
  bool Flush(std::string* err) override;
  std::vector<std::string> TakeErrors() override;
  const char* Name() const override { return "command"; }

  /// Holes opened and not yet closed.
  size_t live_holes() const { return holes_.size(); }

 private:
  /// One open hole and when to close it.
  struct Hole {
    IpAddress source;
    ServicePort port;
    int64_t timeout_ms = 0;
    std::string client;
    std::string service;
    int64_t deadline_ms = 0;
  };

  Hole* FindHole(const IpAddress& source, const ServicePort& port);
  bool RunFor(const std::vector<std::string>& command, const Hole& hole,
              const char* what, std::string* err);

  std::vector<std::string> open_command_;
  std::vector<std::string> close_command_;
  const Clock* clock_;
  int64_t command_timeout_ms_;
  std::vector<Hole> holes_;
  std::vector<std::string> errors_;
};

}  // namespace knock
