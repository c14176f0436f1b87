#include "knockd/sniffer/sniffer.h"

#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/clock.h"
#include "common/toml_document.h"
#include "knockd/shared/privsep_message.h"
#include "knockd/shared/sealed_memfd.h"
#include "knockd/sniffer/clock_step_timer.h"
#include "knockd/sniffer/helper_queue.h"
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
  /// Wakes the loop when the wall clock is set; fd -1 if it could not be
  /// made (the loop's tick then notices a step within a second).
  knock::ClockStepTimer clock_steps;
};

constexpr int kTimerPeriodMs = 1000;
constexpr size_t kMaxConfigBytes = 64u << 20;
constexpr int64_t kMicrosPerSecond = 1000000;
// At stop the queue gets this long to empty into the channel.
constexpr int kDrainWaitMs = 500;
constexpr int kDrainPollMs = 10;

int64_t MonotonicMicros() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * kMicrosPerSecond + now.tv_nsec / 1000;
}

/// Both clocks at once, for the pipeline's clock-step detection.
void Tick(knock::KnockPipeline* pipeline) {
  pipeline->OnClock(knock::SystemClock().NowMicros(), MonotonicMicros());
}

/// The sniffer's life after confinement: the pipeline, fed by capture and
/// steered by the helper's messages.
class Sniffer {
 public:
  Sniffer(SnifferSetup* setup, knock::Logger* logger)
      : setup_(setup), logger_(logger), firewall_(&queue_) {}

  bool Start(std::string* err);
  /// Returns the exit status.
  int Loop();

 private:
  void OnEvent(const knock::KnockOutcome& event);
  /// Queues a control message and sends what the channel takes now.
  void Send(const std::vector<uint8_t>& message);
  /// Sends what the queue holds and the channel takes, never waiting.
  void FlushQueue(bool everything);
  /// At stop: what is still queued, waiting a bounded time for room.
  void DrainQueue();
  /// False once the sniffer must stop; `status` is then its exit status.
  bool HandleHelper(int* status);
  void Reconfigure(knock::PrivateKey key, int config_fd);
  void LogCounters();

  SnifferSetup* setup_;
  knock::Logger* logger_;
  knock::HelperQueue queue_;
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
  if (!pipeline_->Init(setup_->start.server_key, err)) return false;
  // The matcher keeps the pair keys it derived; the private key goes.
  setup_->start.server_key = knock::PrivateKey();
  pipeline_->set_event_handler(
      [this](const knock::KnockOutcome& event) { OnEvent(event); });
  pipeline_->set_live_clock(true);
  Tick(pipeline_.get());
  Send(knock::EncodeReady());
  return !channel_broken_;
}

void Sniffer::OnEvent(const knock::KnockOutcome& event) {
  const knock::MatchEvent& match = event.match;
  // Grants already went out as kGrant (through the firewall); the helper
  // audits those from what it enforced.
  // Refusals are summed per owner and second: a replay flood must cost
  // the helper (and its audit log) one message a second, not one per
  // spoofed source.
  if (match.verdict == knock::Verdict::kReplay ||
      match.verdict == knock::Verdict::kExpiredWindow)
    queue_.AddRefusal(match, knock::SystemClock().NowMicros());
}

void Sniffer::Send(const std::vector<uint8_t>& message) {
  if (!queue_.PushUrgent(message))
    logger_->Error("sniffer: the queue to the firewall helper is full; a " +
                   std::string(knock::PrivsepMessageName(message[0])) +
                   " message is lost");
  FlushQueue(false);
}

void Sniffer::FlushQueue(bool everything) {
  if (channel_broken_) return;
  std::string err;
  knock::PrivsepChannel* channel = &setup_->start.channel;
  const bool ok =
      queue_.Flush(knock::SystemClock().NowMicros(), everything,
                   [channel, &err](const std::vector<uint8_t>& message) {
                     return channel->TrySend(message, &err);
                   });
  if (ok) return;
  logger_->Error("sniffer: " + err);
  channel_broken_ = true;
}

void Sniffer::DrainQueue() {
  for (int waited_ms = 0; waited_ms < kDrainWaitMs; waited_ms += kDrainPollMs) {
    FlushQueue(true);
    if (channel_broken_ ||
        !queue_.HasWaiting(knock::SystemClock().NowMicros(), true))
      return;
    pollfd writable{setup_->start.channel.fd(), POLLOUT, 0};
    poll(&writable, 1, kDrainPollMs);
  }
}

void Sniffer::Reconfigure(knock::PrivateKey key, int config_fd) {
  std::string text;
  std::string err;
  auto config = std::make_unique<knock::ServerConfig>();
  bool ok = config_fd >= 0 &&
            knock::ReadSealedMemfd(config_fd, kMaxConfigBytes, &text, &err) &&
            knock::ParseServerConfig(text, setup_->start.config->path,
                                     config.get(), &err) &&
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
  const knock::HelperQueueStats& queue = queue_.stats();
  logger_->Info("helper queue: refusals " + std::to_string(queue.refusals) +
                " summaries " + std::to_string(queue.summaries_sent) +
                " refusals_dropped " + std::to_string(queue.refusals_dropped) +
                " grants_dropped " + std::to_string(queue.urgent_dropped));
}

int Sniffer::Loop() {
  knock::PacketSource& source = *setup_->source;
  knock::KnockPipeline* pipeline = pipeline_.get();
  std::vector<pollfd> fds;
  fds.push_back({setup_->start.channel.fd(), POLLIN, 0});
  // Polled with negative fd (ignored by poll) when the timer is missing.
  fds.push_back({setup_->clock_steps.fd(), POLLIN, 0});
  for (int fd : source.PollFds()) fds.push_back({fd, POLLIN, 0});
  int status = 0;
  while (!channel_broken_) {
    // Room in the channel is waited for only when something is due.
    fds[0].events = static_cast<short>(
        POLLIN |
        (queue_.HasWaiting(knock::SystemClock().NowMicros()) ? POLLOUT : 0));
    if (poll(fds.data(), fds.size(), kTimerPeriodMs) < 0 && errno != EINTR) {
      logger_->Error(std::string("sniffer: poll: ") + strerror(errno));
      return 1;
    }
    if ((fds[0].revents & ~POLLOUT) && !HandleHelper(&status)) break;
    // The tick below sees the step; reading only re-arms the wake-up.
    if (fds[1].revents) setup_->clock_steps.TakeStep();
    std::string err;
    if (!source.Dispatch(
            [pipeline](const knock::Frame& frame) { pipeline->OnFrame(frame); },
            &err) &&
        !err.empty())
      logger_->Error("capture: " + err);
    Tick(pipeline);
    FlushQueue(false);
  }
  DrainQueue();
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
  if (setup->clock_steps.fd() >= 0) keep.push_back(setup->clock_steps.fd());
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
  SnifferSetup setup{std::move(start), nullptr, account_, empty_root_, {}};
  std::string err;
  // Capture opens while the sniffer is still root: it is the last thing it
  // does with that power.
  if (!knock::OpenLiveSource(setup.start.config->interfaces,
                             setup.start.config->knock, &setup.source, &err)) {
    logger->Error(err);
    return 1;
  }
  if (!setup.clock_steps.Open(&err))
    logger->Warning("sniffer: no clock-step wake-up (" + err +
                    "); steps are noticed within a second");
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
