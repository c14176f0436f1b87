#include "knockd/sniffer/sniffer.h"

#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/clock.h"
#include "common/toml_document.h"
#include "knockd/shared/privsep_message.h"
#include "knockd/shared/sealed_memfd.h"
#include "knockd/sniffer/knock_pipeline.h"
#include "knockd/sniffer/privsep_firewall.h"
#include "knockd/sniffer/seccomp_filter.h"

namespace knockd {

namespace {

/// The sniffer's whole state before it starts matching: what the helper
/// handed over, its capture, and where it confines itself.
struct SnifferSetup {
  knock::SnifferStart start;
  std::unique_ptr<knock::PacketSource> source;
  knock::SnifferAccount account;
  std::string empty_root;
};

constexpr int kTimerPeriodMs = 1000;
constexpr int64_t kStatsPeriodUs = 5000000;
// The configuration with its drop-ins, and the bundle's file headers.
constexpr size_t kMaxConfigBytes = 65u << 20;

/// The memfd holds knockd.toml and its drop-ins as the helper read them.
bool ParseConfigBundle(const std::string& bundle, knock::ServerConfig* config,
                       std::string* err) {
  knock::ConfigSources sources;
  return knock::DecodeConfigSources(bundle, &sources, err) &&
         knock::ParseServerConfigSources(sources, config, err);
}

/// The sniffer's life after confinement: the pipeline, fed by capture and
/// steered by the helper's messages.
class Sniffer {
 public:
  Sniffer(SnifferSetup* setup, knock::Logger* logger)
      : setup_(setup), logger_(logger), firewall_(&setup->start.channel) {}

  bool Start(std::string* err);
  /// Returns the exit status.
  int Loop();

 private:
  void OnEvent(const knock::KnockOutcome& event);
  void Send(const std::vector<uint8_t>& message);
  /// False once the sniffer must stop; `status` is then its exit status.
  bool HandleHelper(int* status);
  void Reconfigure(knock::PrivateKey key, int config_fd);
  void LogCounters();
  /// The counters only the sniffer has, for the helper's metrics file.
  void SendStats(int64_t now_us);

  SnifferSetup* setup_;
  knock::Logger* logger_;
  knock::PrivsepFirewall firewall_;
  std::unique_ptr<knock::KnockPipeline> pipeline_;
  bool channel_broken_ = false;
  int64_t last_stats_us_ = 0;
};

bool Sniffer::Start(std::string* err) {
  uint64_t seed = 0;
  randombytes_buf(&seed, sizeof seed);
  pipeline_ = std::make_unique<knock::KnockPipeline>(
      setup_->start.config.get(), &firewall_, &setup_->start.used, logger_,
      seed);
  if (!pipeline_->Init(setup_->start.server_key, err)) return false;
  // The matcher keeps the pair keys it derived; the private key goes.
  setup_->start.server_key = knock::PrivateKey();
  pipeline_->set_event_handler(
      [this](const knock::KnockOutcome& event) { OnEvent(event); });
  pipeline_->OnTimer(knock::SystemClock().NowMicros());
  Send(knock::EncodeReady());
  return !channel_broken_;
}

void Sniffer::OnEvent(const knock::KnockOutcome& event) {
  const knock::MatchEvent& match = event.match;
  // Grants already went out as kGrant (through the firewall); the helper
  // audits those from what it enforced.
  if (match.verdict == knock::Verdict::kReplay ||
      match.verdict == knock::Verdict::kExpiredWindow)
    Send(knock::EncodeRefusal(match.verdict, match.source, match.first_source,
                              match.owner));
}

void Sniffer::Send(const std::vector<uint8_t>& message) {
  std::string err;
  if (channel_broken_ || setup_->start.channel.Send(message, -1, &err)) return;
  logger_->Error("sniffer: " + err);
  channel_broken_ = true;
}

void Sniffer::Reconfigure(knock::PrivateKey key, int config_fd) {
  std::string text;
  std::string err;
  auto config = std::make_unique<knock::ServerConfig>();
  bool ok = config_fd >= 0 &&
            knock::ReadSealedMemfd(config_fd, kMaxConfigBytes, &text, &err) &&
            ParseConfigBundle(text, config.get(), &err) &&
            pipeline_->Reconfigure(config.get(), &firewall_, key, &err);
  if (config_fd < 0) err = "the reconfigure message came without its file";
  if (config_fd >= 0) close(config_fd);
  if (ok) {
    setup_->start.config = std::move(config);
  } else {
    logger_->Error("sniffer: cannot take the reloaded configuration: " + err);
  }
  Send(knock::EncodeReconfigured(ok));
}

bool Sniffer::HandleHelper(int* status) {
  for (;;) {
    std::vector<uint8_t> bytes;
    int config_fd = -1;
    std::string err;
    const knock::ReceiveResult got =
        setup_->start.channel.Receive(&bytes, &config_fd, &err);
    if (got == knock::ReceiveResult::kNone) return true;
    if (got != knock::ReceiveResult::kMessage) {
      logger_->Error("sniffer: the firewall helper went away" +
                     (err.empty() ? "" : ": " + err));
      *status = 1;
      return false;
    }
    knock::PrivsepMessage message;
    knock::PrivateKey key;
    if (!knock::DecodeHelperMessage(bytes.data(), bytes.size(), &message, &key,
                                    &err)) {
      if (config_fd >= 0) close(config_fd);
      logger_->Error("sniffer: " + err);
      *status = 1;
      return false;
    }
    if (message.type == knock::PrivsepMessageType::kShutdown) {
      if (config_fd >= 0) close(config_fd);
      *status = 0;
      return false;
    }
    Reconfigure(std::move(key), config_fd);
  }
}

void Sniffer::LogCounters() {
  logger_->Info("counters: " + pipeline_->CountersLine());
  // What the kernel could not hand us: the benchmarks' capture-drop figure.
  const knock::CaptureStats capture = setup_->source->Stats();
  logger_->Info("capture: received " + std::to_string(capture.received) +
                " dropped_by_kernel " +
                std::to_string(capture.dropped_by_kernel));
}

void Sniffer::SendStats(int64_t now_us) {
  if (now_us - last_stats_us_ < kStatsPeriodUs) return;
  last_stats_us_ = now_us;
  const knock::CaptureStats capture = setup_->source->Stats();
  knock::SnifferStats stats;
  stats.capture_received = capture.received;
  stats.capture_dropped = capture.dropped_by_kernel;
  stats.frames = pipeline_->stats().frames;
  stats.knocks = pipeline_->matcher_stats().knocks;
  stats.evictions = pipeline_->evictions();
  stats.sources = pipeline_->sources();
  Send(knock::EncodeStats(stats));
}

int Sniffer::Loop() {
  knock::PacketSource& source = *setup_->source;
  knock::KnockPipeline* pipeline = pipeline_.get();
  std::vector<pollfd> fds;
  fds.push_back({setup_->start.channel.fd(), POLLIN, 0});
  for (int fd : source.PollFds()) fds.push_back({fd, POLLIN, 0});
  int status = 0;
  while (!channel_broken_) {
    if (poll(fds.data(), fds.size(), kTimerPeriodMs) < 0 && errno != EINTR) {
      logger_->Error(std::string("sniffer: poll: ") + strerror(errno));
      return 1;
    }
    if (fds[0].revents && !HandleHelper(&status)) break;
    std::string err;
    if (!source.Dispatch(
            [pipeline](const knock::Frame& frame) { pipeline->OnFrame(frame); },
            &err) &&
        !err.empty())
      logger_->Error("capture: " + err);
    pipeline_->OnTimer(knock::SystemClock().NowMicros());
    SendStats(knock::SystemClock().NowMicros());
  }
  LogCounters();
  return channel_broken_ ? 1 : status;
}

bool Confine(SnifferSetup* setup, knock::Logger* logger, std::string* err) {
  // Ended by the helper's SIGTERM handling, never by the terminal's or
  // systemd's signals meant for the whole group.
  for (int signo : {SIGHUP, SIGINT, SIGTERM, SIGPIPE}) signal(signo, SIG_IGN);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 ||
      getppid() != setup->start.helper_pid) {
    *err = "the firewall helper is gone";
    return false;
  }
  std::vector<int> keep = setup->source->PollFds();
  keep.push_back(setup->start.channel.fd());
  if (!knock::CloseDescriptorsExcept(keep, err)) return false;
  logger->ReconnectSyslog();
  return knock::ConfineToAccount(setup->account, setup->empty_root, err) &&
         knock::InstallSnifferSyscallFilter(err);
}

}  // namespace

bool ConfinedSnifferLauncher::Prepare(const knock::ServerConfig& config,
                                      std::string* err) {
  empty_root_ = config.state_dir + "/empty";
  return knock::LookUpSnifferAccount(config.user, &account_, err) &&
         knock::PrepareEmptyRoot(empty_root_, err);
}

int ConfinedSnifferLauncher::Run(knock::SnifferStart start,
                                 knock::Logger* logger) {
  SnifferSetup setup{std::move(start), nullptr, account_, empty_root_};
  std::string err;
  // Capture opens while the sniffer is still root: it is the last thing it
  // does with that power.
  if (!knock::OpenLiveSource(setup.start.config->interfaces,
                             setup.start.config->knock, &setup.source, &err)) {
    logger->Error(err);
    return 1;
  }
  if (!Confine(&setup, logger, &err)) {
    logger->Error("sniffer: cannot confine itself: " + err);
    return 1;
  }
  Sniffer sniffer(&setup, logger);
  if (!sniffer.Start(&err)) {
    logger->Error("sniffer: " + err);
    return 1;
  }
  const int status = sniffer.Loop();
  // The kernel tears the capture down when the process ends: pcap_close
  // would call setsockopt, which the syscall filter refuses.
  (void)setup.source.release();
  return status;
}

}  // namespace knockd
