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

/// Reads the sealed memfd of a reconfigure (text, then image) or a table
/// (image only) and checks it holds exactly what the message announced.
bool ReadHandedOver(int fd, const knock::PrivsepMessage& message,
                    std::string* text, knock::SequenceTableImage* image,
                    std::string* err) {
  if (fd < 0) {
    *err = std::string("the ") +
           knock::PrivsepMessageName(static_cast<uint8_t>(message.type)) +
           " message came without its file";
    return false;
  }
  std::string bytes;
  const uint64_t expected = message.config_bytes + message.image_bytes;
  if (!knock::ReadSealedMemfd(fd, expected, &bytes, err)) return false;
  if (bytes.size() != expected) {
    *err = "the memfd holds " + std::to_string(bytes.size()) +
           " bytes, the message announced " + std::to_string(expected);
    return false;
  }
  *text = bytes.substr(0, message.config_bytes);
  return knock::DecodeTableImage(
      std::string_view(bytes).substr(message.config_bytes), image, err);
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
  /// Takes one message from the helper; false when it says to stop.
  bool OnHelperMessage(const knock::PrivsepMessage& message, int fd,
                       int* status);
  /// Blocks until the helper's first tables arrive (it derives them after
  /// the fork, while the sniffer confines itself).
  bool AwaitFirstTable(std::string* err);
  void LoadTable(const knock::PrivsepMessage& message, int fd);
  void Reconfigure(const knock::PrivsepMessage& message, int fd);
  void LogCounters();

  SnifferSetup* setup_;
  knock::Logger* logger_;
  knock::PrivsepFirewall firewall_;
  std::unique_ptr<knock::KnockPipeline> pipeline_;
  bool channel_broken_ = false;
};

bool Sniffer::Start(std::string* err) {
  uint64_t seed = 0;
  randombytes_buf(&seed, sizeof seed);
  pipeline_ = std::make_unique<knock::KnockPipeline>(
      setup_->start.config.get(), &firewall_, &setup_->start.used, logger_,
      seed);
  // The helper opens the holes, and logs them.
  pipeline_->set_log_grants(false);
  if (!AwaitFirstTable(err)) return false;
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

bool Sniffer::AwaitFirstTable(std::string* err) {
  knock::PrivsepChannel& channel = setup_->start.channel;
  for (;;) {
    if (!channel.WaitReadable(kTimerPeriodMs)) continue;
    std::vector<uint8_t> bytes;
    int fd = -1;
    const knock::ReceiveResult got = channel.Receive(&bytes, &fd, err);
    if (got == knock::ReceiveResult::kNone) continue;
    if (got != knock::ReceiveResult::kMessage) {
      *err = "the firewall helper went away before the first tables" +
             (err->empty() ? "" : ": " + *err);
      return false;
    }
    knock::PrivsepMessage message;
    std::string text;
    knock::SequenceTableImage image;
    bool ok =
        knock::DecodeHelperMessage(bytes.data(), bytes.size(), &message, err);
    if (ok && message.type != knock::PrivsepMessageType::kTable) {
      *err = std::string("the helper sent ") +
             knock::PrivsepMessageName(bytes[0]) + " before the tables";
      ok = false;
    }
    ok = ok && ReadHandedOver(fd, message, &text, &image, err) &&
         pipeline_->LoadTable(std::move(image), err);
    if (fd >= 0) close(fd);
    return ok;
  }
}

void Sniffer::LoadTable(const knock::PrivsepMessage& message, int fd) {
  std::string text;
  knock::SequenceTableImage image;
  std::string err;
  // A table the sniffer cannot take leaves it without live windows: it
  // stops, and the helper with it (fail closed).
  if (!ReadHandedOver(fd, message, &text, &image, &err) ||
      !pipeline_->LoadTable(std::move(image), &err)) {
    logger_->Error("sniffer: cannot take the helper's tables: " + err);
    channel_broken_ = true;
  }
}

void Sniffer::Reconfigure(const knock::PrivsepMessage& message, int fd) {
  std::string text;
  knock::SequenceTableImage image;
  std::string err;
  auto config = std::make_unique<knock::ServerConfig>();
  const bool ok =
      ReadHandedOver(fd, message, &text, &image, &err) &&
      knock::ParseServerConfig(text, setup_->start.config->path, config.get(),
                               &err) &&
      pipeline_->Reconfigure(config.get(), &firewall_, std::move(image), &err);
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
    if (!knock::DecodeHelperMessage(bytes.data(), bytes.size(), &message,
                                    &err)) {
      if (config_fd >= 0) close(config_fd);
      logger_->Error("sniffer: " + err);
      *status = 1;
      return false;
    }
    const bool go_on = OnHelperMessage(message, config_fd, status);
    if (config_fd >= 0) close(config_fd);
    if (!go_on) return false;
  }
}

bool Sniffer::OnHelperMessage(const knock::PrivsepMessage& message, int fd,
                              int* status) {
  switch (message.type) {
    case knock::PrivsepMessageType::kTable:
      LoadTable(message, fd);
      if (channel_broken_) *status = 1;
      return !channel_broken_;
    case knock::PrivsepMessageType::kReconfigure:
      Reconfigure(message, fd);
      return true;
    default:
      *status = 0;
      return false;
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
