// `knock SERVER [SERVICE]`: send one knock sequence, optionally wait for a
// port to open.

#include <cstdio>

#include "common/sequence_shape.h"
#include "knock/lib/knock_flow.h"
#include "knock/subcommands.h"

namespace knock {

namespace {

int UsageError(const std::string& message) {
  PrintError(message + " (see: knock --help)");
  return kExitUsage;
}

}  // namespace

int RunKnock(const Invocation& invocation) {
  KnockOptions options;
  options.config = invocation.config_path;
  std::vector<std::string> positional;
  std::string err;
  if (!ParseCommandLine(invocation.args, KnockOptionSpecs(&options),
                        "see: knock --help", &positional, &err)) {
    PrintError(err);
    return kExitUsage;
  }
  if (options.help) {
    fputs(ProgramUsage(), stdout);
    return kExitOk;
  }
  if (positional.empty()) return UsageError("missing SERVER");
  if (positional.size() > 2)
    return UsageError("unexpected argument \"" + positional[2] + "\"");
  std::optional<std::string> service;
  if (positional.size() == 2) service = positional[1];
  KnockJob job;
  const int status = BuildKnockJob(options, positional[0], service, &job);
  if (status != kExitOk) return status;
  // The configuration's shape was checked as it was read; this catches what
  // --count, --slots and --ports made of it, against the server's limits.
  if (!CheckSequenceShape(job.server.ports, job.server.count, job.server.slots,
                          &err))
    return UsageError(err);
  KnockOutcome outcome = RunKnockJob(job);
  if (outcome.fd != kNoSocket) CloseSocket(outcome.fd);
  return outcome.exit_status;
}

}  // namespace knock
