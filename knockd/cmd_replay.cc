// `knockd replay --pcap FILE`: the daemon's pipeline over a capture, with no
// firewall and the capture's clock. How an administrator audits a capture,
// and how the matcher is benchmarked.

#include <cstdio>
#include <random>

#include "common/clock.h"
#include "common/file_owner.h"
#include "common/key_file.h"
#include "knockd/helper/no_firewall.h"
#include "knockd/sniffer/knock_pipeline.h"
#include "knockd/subcommands.h"

namespace knockd {

namespace {

constexpr char kUsage[] =
    "Usage: knockd [-c FILE] replay --pcap FILE\n\n"
    "Runs the matcher over a pcap or pcapng capture with no firewall and\n"
    "the capture's timestamps, prints one line per decision (time,\n"
    "verdict, client, service, source) and the counters. The live\n"
    "daemon's used-sequence store is neither read nor written.\n";

void PrintEvent(const knock::KnockOutcome& event) {
  const knock::MatchEvent& m = event.match;
  printf("%s %s client=%s service=%s source=%s window=%llu slot=%u",
         knock::FormatTimestampUs(m.time_us).c_str(),
         knock::VerdictName(m.verdict), event.client.c_str(),
         event.service.c_str(), m.source.ToString().c_str(),
         static_cast<unsigned long long>(m.owner.window),
         unsigned{m.owner.slot});
  if (m.verdict == knock::Verdict::kReplay)
    printf(" first_source=%s", m.first_source.ToString().c_str());
  printf("\n");
}

}  // namespace

int RunReplay(const Invocation& invocation) {
  std::optional<std::string> pcap_option;
  std::vector<std::string> positional;
  int status = kExitOk;
  if (!ParseSubcommandLine(invocation.args, "replay", kUsage,
                           {{nullptr, "--pcap", nullptr, &pcap_option}},
                           &positional, &status))
    return status;
  if (!positional.empty())
    return UsageError("replay",
                      "unexpected argument \"" + positional[0] + "\"");
  if (!pcap_option || pcap_option->empty())
    return UsageError("replay", "replay needs --pcap FILE");
  const std::string& pcap_path = *pcap_option;

  knock::ServerConfig config;
  std::string err;
  if (!knock::LoadServerConfig(invocation.config_path, &config, &err)) {
    fprintf(stderr, "%s\n", err.c_str());
    return kExitError;
  }
  knock::PrivateKey server_key;
  if (!knock::ReadPrivateKeyFile(config.private_key_file,
                                 knock::AccountUid(config.user), &server_key,
                                 &err)) {
    PrintError(err);
    return kExitError;
  }
  std::unique_ptr<knock::PacketSource> source;
  if (!knock::OpenFileSource(pcap_path, config.knock, &source, &err)) {
    PrintError(err);
    return kExitError;
  }
  knock::NoFirewall firewall;
  knock::ReplayStore store;  // in memory: a replay never touches live state
  knock::Logger logger;
  logger.set_min_level(knock::LogLevel::kError);
  knock::KnockPipeline pipeline(&config, &firewall, &store, &logger,
                                std::random_device{}());
  if (!pipeline.Init(server_key, &err)) {
    PrintError(err);
    return kExitError;
  }
  pipeline.set_event_handler(PrintEvent);
  const auto on_frame = [&pipeline](const knock::Frame& frame) {
    pipeline.QueueFrame(frame);
  };
  bool more = true;
  while (more) {
    more = source->Dispatch(on_frame, &err);
    pipeline.FlushFrames();
  }
  if (!err.empty()) {
    PrintError(pcap_path + ": " + err);
    return kExitError;
  }
  printf("counters: %s\n", pipeline.CountersLine().c_str());
  return kExitOk;
}

}  // namespace knockd
