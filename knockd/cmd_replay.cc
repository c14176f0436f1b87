// `knockd replay --pcap FILE`: the daemon's pipeline over a capture, with no
// firewall and the capture's clock. How an administrator audits a capture,
// and how the matcher is benchmarked.

#include <cstdio>
#include <random>

#include "common/clock.h"
#include "common/key_file.h"
#include "knockd/helper/no_firewall.h"
#include "knockd/sniffer/knock_pipeline.h"
#include "knockd/subcommands.h"

namespace knockd {

namespace {

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
  std::string pcap_path;
  const auto& args = invocation.args;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--pcap" && i + 1 < args.size()) {
      pcap_path = args[++i];
    } else {
      return UsageError("replay", "unexpected argument \"" + args[i] + "\"");
    }
  }
  if (pcap_path.empty())
    return UsageError("replay", "replay needs --pcap FILE");

  knock::ServerConfig config;
  std::string err;
  if (!knock::LoadServerConfig(invocation.config_path, &config, &err)) {
    fprintf(stderr, "%s\n", err.c_str());
    return kExitError;
  }
  knock::PrivateKey server_key;
  if (!knock::ReadPrivateKeyFile(config.private_key_file, &server_key, &err)) {
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
    pipeline.OnFrame(frame);
  };
  while (source->Dispatch(on_frame, &err)) {
  }
  if (!err.empty()) {
    PrintError(pcap_path + ": " + err);
    return kExitError;
  }
  printf("counters: %s\n", pipeline.CountersLine().c_str());
  return kExitOk;
}

}  // namespace knockd
