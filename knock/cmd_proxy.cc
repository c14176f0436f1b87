// `knock proxy SERVER [SERVICE] PORT`: knock, wait for PORT, then carry an
// ssh session over standard input and output, e.g. in ~/.ssh/config:
//   ProxyCommand knock proxy bastion %p

#include <signal.h>

#ifdef _WIN32
#include <io.h>
#else
#include <unistd.h>
#endif

#include <charconv>
#include <cstdio>

#include "common/sequence_shape.h"
#include "knock/lib/knock_flow.h"
#include "knock/lib/relay.h"
#include "knock/subcommands.h"

namespace knock {

namespace {

constexpr char kUsage[] =
    R"(Usage: knock [-c FILE] proxy SERVER [SERVICE] PORT [OPTIONS]

Knocks on SERVER for SERVICE, waits until PORT of the server accepts a
connection (at most --timeout, default 10s; halfway it knocks once more),
then relays standard input and output to that connection. For ssh:
  Host bastion
    ProxyCommand knock proxy bastion %p

Takes the options of `knock SERVER` (see: knock --help) except --dry-run
and --wait. Exit status: 0 when the session ended, 1 on an error, 2 on a
usage error, 3 when PORT never opened.
)";

int UsageError(const std::string& message) {
  PrintError(message + " (see: knock proxy --help)");
  return kExitUsage;
}

bool IsPort(const std::string& text) {
  int port = 0;
  auto [ptr, ec] =
      std::from_chars(text.data(), text.data() + text.size(), port);
  return ec == std::errc() && ptr == text.data() + text.size() && port >= 1 &&
         port <= 65535;
}

int RelaySession(SocketHandle fd) {
#ifdef SIGPIPE
  // stdout is a pipe to ssh: if ssh goes, a write fails instead of killing
  // us before the socket is closed.
  signal(SIGPIPE, SIG_IGN);
#endif
  std::string err;
  const bool ok = Relay(0, 1, fd, &err);  // standard input and output
  CloseSocket(fd);
  if (ok) return kExitOk;
  PrintError(err);
  return kExitError;
}

}  // namespace

int RunProxy(const Invocation& invocation) {
  KnockOptions options;
  options.config = invocation.config_path;
  std::vector<std::string> positional;
  std::string err;
  if (!ParseCommandLine(invocation.args, KnockOptionSpecs(&options),
                        "see: knock proxy --help", &positional, &err)) {
    PrintError(err);
    return kExitUsage;
  }
  if (options.help) {
    fputs(kUsage, stdout);
    return kExitOk;
  }
  if (options.dry_run || options.wait)
    return UsageError(std::string(options.dry_run ? "--dry-run" : "--wait") +
                      " does not go with proxy");
  if (positional.size() < 2) return UsageError("missing SERVER or PORT");
  if (positional.size() > 3)
    return UsageError("unexpected argument \"" + positional[3] + "\"");
  if (!IsPort(positional.back()))
    return UsageError("not a port \"" + positional.back() + "\"");
  options.wait = positional.back();
  std::optional<std::string> service;
  if (positional.size() == 3) service = positional[1];
  KnockJob job;
  const int status = BuildKnockJob(options, positional[0], service, &job);
  if (status != kExitOk) return status;
  // The configuration's shape was checked as it was read; this catches what
  // --count, --slots and --ports made of it, against the server's limits.
  if (!CheckSequenceShape(job.server.ports, job.server.count, job.server.slots,
                          &err))
    return UsageError(err);
  const KnockOutcome outcome = RunKnockJob(job);
  if (outcome.exit_status != kExitOk) return outcome.exit_status;
  return RelaySession(outcome.fd);
}

}  // namespace knock
