#include "knockd/sniffer/sniffer.h"

#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/clock.h"
#include "common/toml_document.h"
#include "common/unique_fd.h"
#include "knockd/shared/config_sources.h"
#include "knockd/shared/privsep_message.h"
#include "knockd/shared/sealed_memfd.h"
#include "knockd/sniffer/capture_drain.h"
#include "knockd/sniffer/capture_pacer.h"
#include "knockd/sniffer/capture_port_filter.h"
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
  /// False only in tests that need the flood delivered (the control of
  /// tests/e2e/test_port_filter.sh): the range filter libpcap compiled
  /// then stays.
  bool exact_port_filter = true;
};

constexpr int kTimerPeriodMs = 1000;
constexpr int64_t kStatsPeriodUs = 5000000;
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

/// The memfd's configuration part holds knockd.toml and its drop-ins as the
/// helper read them.
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
      : setup_(setup),
        logger_(logger),
        firewall_(&queue_),
        port_filter_(setup->source.get(), setup->exact_port_filter, logger) {}

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
  /// Takes one message from the helper; false when it says to stop.
  bool OnHelperMessage(const knock::PrivsepMessage& message, int fd,
                       int* status);
  /// Blocks until the helper's first tables arrive (it derives them after
  /// the fork, while the sniffer confines itself).
  bool AwaitFirstTable(std::string* err);
  void LoadTable(const knock::PrivsepMessage& message, int fd);
  /// Swaps the capture's kernel filter when time moved the windows a knock
  /// can use (or retries a refused swap); false (logged) only when neither
  /// that filter nor the whole knock range can be installed, which stops
  /// the sniffer.
  bool FollowPortFilter();
  /// The loop's poll timeout: `timeout_ms`, cut to wake at the filter's
  /// next change.
  int PollTimeoutMs(int timeout_ms);
  /// The time the capture filter follows (CapturePortFilter::FollowedClockUs).
  int64_t FilterNowUs();
  void LogPortFilter();
  void Reconfigure(const knock::PrivsepMessage& message, int fd);
  void LogCounters();
  /// The counters only the sniffer has, for the helper's metrics file.
  void SendStats(int64_t now_us);

  SnifferSetup* setup_;
  knock::Logger* logger_;
  knock::HelperQueue queue_;
  knock::PrivsepFirewall firewall_;
  std::unique_ptr<knock::KnockPipeline> pipeline_;
  bool channel_broken_ = false;
  int64_t last_stats_us_ = 0;
  /// The capture's kernel filter: the windows a knock can use now.
  knock::CapturePortFilter port_filter_;
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

bool Sniffer::AwaitFirstTable(std::string* err) {
  knock::PrivsepChannel& channel = setup_->start.channel;
  for (;;) {
    if (!channel.WaitReadable(kTimerPeriodMs)) continue;
    std::vector<uint8_t> bytes;
    int received_fd = -1;
    const knock::ReceiveResult got = channel.Receive(&bytes, &received_fd, err);
    const knock::UniqueFd fd(received_fd);
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
    ok = ok && ReadHandedOver(fd.get(), message, &text, &image, err) &&
         port_filter_.TakeTable(image, setup_->start.config->knock,
                                FilterNowUs(), err) &&
         pipeline_->LoadTable(std::move(image), err);
    if (ok) LogPortFilter();
    return ok;
  }
}

void Sniffer::LoadTable(const knock::PrivsepMessage& message, int fd) {
  std::string text;
  knock::SequenceTableImage image;
  std::string err;
  // A table the sniffer cannot take leaves it without live windows: it
  // stops, and the helper with it (fail closed).
  // The image holds the next window a step before any frame can use it;
  // the filter passes the windows usable now (and the next one from shortly
  // before its roll, see FollowPortFilter) before the table that matches
  // them is taken, so no knock finds the filter behind the table.
  if (!ReadHandedOver(fd, message, &text, &image, &err) ||
      !port_filter_.TakeTable(image, setup_->start.config->knock, FilterNowUs(),
                              &err) ||
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
  // Until the reload is taken or refused either table may be in use, so the
  // filter passes both; then it narrows to the one in use.
  const bool ok =
      ReadHandedOver(fd, message, &text, &image, &err) &&
      ParseConfigBundle(text, config.get(), &err) &&
      port_filter_.BeginReload(image, config->knock, FilterNowUs(), &err) &&
      pipeline_->Reconfigure(config.get(), &firewall_, std::move(image), &err);
  if (ok) {
    setup_->start.config = std::move(config);
  } else {
    logger_->Error("sniffer: cannot take the reloaded configuration: " + err);
  }
  std::string filter_err;
  // Only when the whole range was refused too: a refused setsockopt leaves
  // the wider filter of the reload in place (a superset of what the matcher
  // accepts), and the loop tries again at its next swap or retry time,
  // within a second, stopping the sniffer if that fails as well.
  if (!port_filter_.EndReload(ok, FilterNowUs(), &filter_err))
    logger_->Error("sniffer: capture filter: " + filter_err);
  if (ok) LogPortFilter();
  Send(knock::EncodeReconfigured(ok));
}

bool Sniffer::FollowPortFilter() {
  std::string err;
  if (port_filter_.OnTimer(FilterNowUs(), &err)) return true;
  // Neither the exact filter nor the whole range installed: the kernel's
  // filter may be behind the windows and drop the next window's knocks.
  logger_->Error("sniffer: cannot swap the capture filter: " + err);
  channel_broken_ = true;
  return false;
}

int64_t Sniffer::FilterNowUs() {
  return port_filter_.FollowedClockUs(knock::SystemClock().NowMicros(),
                                      pipeline_->stats().clock_steps);
}

int Sniffer::PollTimeoutMs(int timeout_ms) {
  const int64_t now_us = FilterNowUs();
  const int64_t next_us = port_filter_.NextChangeUs(now_us);
  if (next_us - now_us >= int64_t{timeout_ms} * 1000) return timeout_ms;
  // Rounded up: the loop wakes at the change, not a millisecond before it.
  return static_cast<int>(std::max<int64_t>(next_us - now_us + 999, 0) / 1000);
}

void Sniffer::LogPortFilter() {
  if (!setup_->exact_port_filter) {
    logger_->Info("capture filter: the whole knock range (exact filter off)");
    return;
  }
  const knock::PortFilterSpec& spec = port_filter_.installed();
  if (port_filter_.degraded()) {
    // The refusal itself was logged by the filter.
    logger_->Info("capture filter: the whole knock range, " +
                  std::to_string(spec.ports.size()) +
                  " ports (the exact filter was refused)");
    return;
  }
  const knock::PortFilterProgram program =
      knock::BuildPortFilterProgram(spec, knock::FilterView::kEthernet, 0);
  const bool bitmap = program.test == knock::PortTest::kBitmap;
  const std::string how = std::to_string(program.code.size()) +
                          " instructions, " + (bitmap ? "bitmap" : "port runs");
  logger_->Info("capture filter: " + std::to_string(program.passed_ports) +
                " ports of the knock range" +
                (program.exact
                     ? " (exact; " + how + ")"
                     : " (the held windows' " +
                           std::to_string(spec.ports.size()) + " ports and " +
                           (bitmap ? "the rest of their densest 32-port words"
                                   : "the gaps between the closest") +
                           ", to fit the kernel's limit; " + how + ")"));
}

bool Sniffer::HandleHelper(int* status) {
  for (;;) {
    std::vector<uint8_t> bytes;
    int received_fd = -1;
    std::string err;
    const knock::ReceiveResult got =
        setup_->start.channel.Receive(&bytes, &received_fd, &err);
    const knock::UniqueFd config_fd(received_fd);
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
      logger_->Error("sniffer: " + err);
      *status = 1;
      return false;
    }
    if (!OnHelperMessage(message, config_fd.get(), status)) return false;
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
  logger_->Info(
      "capture: received " + std::to_string(capture.received) +
      " dropped_by_kernel " + std::to_string(capture.dropped_by_kernel) +
      " filter_swaps_failed " + std::to_string(port_filter_.failed_swaps()));
  const knock::HelperQueueStats& queue = queue_.stats();
  logger_->Info("helper queue: refusals " + std::to_string(queue.refusals) +
                " summaries " + std::to_string(queue.summaries_sent) +
                " refusals_dropped " + std::to_string(queue.refusals_dropped) +
                " grants_dropped " + std::to_string(queue.urgent_dropped));
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
  // Polled with negative fd (ignored by poll) when the timer is missing.
  fds.push_back({setup_->clock_steps.fd(), POLLIN, 0});
  constexpr size_t kFirstCaptureFd = 2;
  for (int fd : source.PollFds()) fds.push_back({fd, POLLIN, 0});
  knock::CapturePacer pacer;
  int status = 0;
  while (!channel_broken_) {
    // Room in the channel is waited for only when something is due.
    fds[0].events = static_cast<short>(
        POLLIN |
        (queue_.HasWaiting(knock::SystemClock().NowMicros()) ? POLLOUT : 0));
    // Under a flood the capture waits for the end of the pacer's period:
    // its descriptors are left out of the poll, not just masked, so the
    // kernel does not queue us on (and lock) the capture's wait queue,
    // which every flood frame wakes, only to be told to sleep on.
    const int64_t before_poll_us = MonotonicMicros();
    const bool paced = pacer.Paced(before_poll_us);
    if (poll(fds.data(), paced ? kFirstCaptureFd : fds.size(),
             PollTimeoutMs(
                 pacer.PollTimeoutMs(before_poll_us, kTimerPeriodMs))) < 0 &&
        errno != EINTR) {
      logger_->Error(std::string("sniffer: poll: ") + strerror(errno));
      return 1;
    }
    // First: the swap must not wait for the frames or messages that woke
    // the loop.
    if (!FollowPortFilter()) break;
    if ((fds[0].revents & ~POLLOUT) && !HandleHelper(&status)) break;
    // The tick below sees the step; reading only re-arms the wake-up.
    if (fds[1].revents) setup_->clock_steps.TakeStep();
    std::string err;
    // A bounded chunk: a drain that stopped at its bound makes the next
    // pass come at once, and that pass swaps the filter first if due.
    knock::DrainResult drain;
    if (!knock::DrainCapture(&source, pipeline, &drain, &err) && !err.empty())
      logger_->Error("capture: " + err);
    pacer.OnDrain(MonotonicMicros(), drain.frames, drain.cut);
    Tick(pipeline);
    FlushQueue(false);
    SendStats(knock::SystemClock().NowMicros());
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
  const std::vector<int> capture = setup->source->PollFds();
  std::vector<int> keep = capture;
  keep.push_back(setup->start.channel.fd());
  if (setup->clock_steps.fd() >= 0) keep.push_back(setup->clock_steps.fd());
  if (!knock::CloseDescriptorsExcept(keep, err)) return false;
  logger->ReconnectSyslog();
  return knock::ConfineToAccount(setup->account, setup->empty_root, err) &&
         knock::InstallSnifferSyscallFilter(capture, err);
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
  // Tests only: the control that shows the flood the filter keeps out.
  const char* filter = getenv("KNOCKD_TEST_CAPTURE_FILTER");
  setup.exact_port_filter = filter == nullptr || std::string(filter) != "range";
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
  // pcap_close's request to free the ring fails under the syscall filter
  // (EPERM, see seccomp_filter.cc); the close that follows frees it.
  setup.source.reset();
  return status;
}

}  // namespace knockd
