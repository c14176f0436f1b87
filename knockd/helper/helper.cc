#include "knockd/helper/helper.h"

#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/clock.h"
#include "common/key_file.h"
#include "common/knock_sequence.h"
#include "common/toml_document.h"
#include "knockd/helper/listening_sockets.h"
#include "knockd/helper/metrics_file.h"
#include "knockd/helper/sd_notify.h"
#include "knockd/helper/sniffer_request_check.h"
#include "knockd/shared/daemon_pid_file.h"
#include "knockd/shared/privileges.h"
#include "knockd/shared/sealed_memfd.h"

namespace knockd {

namespace {

constexpr int kTimerPeriodMs = 1000;
constexpr int kSnifferStopWaitMs = 3000;
constexpr int kStopPollMs = 50;
constexpr int64_t kMicrosPerSecond = 1000000;
constexpr mode_t kStateDirMode = 0700;
constexpr int64_t kMetricsPeriodUs = 5000000;

bool MakeDirectories(const std::string& path, std::string* err) {
  for (size_t slash = 1; slash != std::string::npos;) {
    slash = path.find('/', slash + 1);
    const std::string prefix = path.substr(0, slash);
    if (mkdir(prefix.c_str(), kStateDirMode) != 0 && errno != EEXIST) {
      *err = prefix + ": cannot create the state directory: " + strerror(errno);
      return false;
    }
  }
  return true;
}

bool SameCapture(const knock::ServerConfig& a, const knock::ServerConfig& b) {
  return a.interfaces == b.interfaces && a.knock.ports == b.knock.ports &&
         a.knock.protocol == b.knock.protocol;
}

std::string DescribeExit(int status) {
  if (WIFSIGNALED(status))
    return std::string("was killed by SIG") + sigabbrev_np(WTERMSIG(status));
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

knock::KnockOutcome EventFor(const knock::PrivsepMessage& message,
                             const knock::ServerConfig& config,
                             knock::Verdict verdict, int64_t now_us) {
  knock::KnockOutcome event;
  event.match.verdict = verdict;
  event.match.source = message.source;
  event.match.first_source = message.first_source;
  event.match.owner = message.owner;
  event.match.time_us = now_us;
  event.client = config.clients[message.owner.client].name;
  event.service = config.services[message.owner.service].name;
  return event;
}

}  // namespace

Helper::Helper(std::string config_path, knock::SnifferLauncher* launcher)
    : config_path_(std::move(config_path)), launcher_(launcher) {}

bool Helper::ReadConfigBundle(std::string* bundle, std::string* err) {
  knock::ConfigSources sources;
  if (!knock::ReadConfigSources(config_path_, &sources, err)) return false;
  *bundle = knock::EncodeConfigSources(sources);
  return true;
}

bool Helper::LoadConfig(const std::string& bundle,
                        std::unique_ptr<knock::ServerConfig>* config,
                        knock::PrivateKey* key, std::string* err) {
  auto loaded = std::make_unique<knock::ServerConfig>();
  knock::ConfigSources sources;
  if (!knock::DecodeConfigSources(bundle, &sources, err) ||
      !knock::ParseServerConfigSources(sources, loaded.get(), err))
    return false;
  if (!knock::ReadPrivateKeyFile(loaded->private_key_file, key, err))
    return false;
  *config = std::move(loaded);
  return true;
}

bool Helper::OpenState(std::string* err) {
  if (!MakeDirectories(config_->state_dir, err)) return false;
  store_ = std::make_unique<knock::ReplayStore>(config_->state_dir +
                                                "/used-sequences");
  return store_->Load(err);
}

bool Helper::SetUpFirewall(const knock::ServerConfig& config,
                           std::unique_ptr<knock::Firewall>* firewall,
                           std::string* err) {
  std::vector<knock::Listener> listeners;
  // The firewall silences both transports in the range, so a socket of
  // either kind there would be cut off.
  if (!knock::FindListenersInRange(
          config.knock.ports, knock::KnockProtocol::kBoth, &listeners, err))
    return false;
  if (!listeners.empty()) {
    *err = knock::FormatListenerRefusal(config.knock.ports, listeners);
    return false;
  }
  auto made = knock::MakeFirewall(config.firewall);
  if (!made->Setup(knock::LayoutFor(config), err)) return false;
  *firewall = std::move(made);
  return true;
}

bool Helper::ForkSniffer(knock::PrivateKey server_key, std::string* err) {
  knock::SnifferStart setup;
  if (!launcher_->Prepare(*config_, err)) return false;
  knock::PrivsepChannel sniffer_end;
  if (!knock::PrivsepChannel::MakePair(&channel_, &sniffer_end, err))
    return false;
  setup.helper_pid = getpid();
  sniffer_pid_ = fork();
  if (sniffer_pid_ < 0) {
    *err = std::string("fork: ") + strerror(errno);
    return false;
  }
  if (sniffer_pid_ == 0) {
    channel_.Close();
    setup.config = std::make_unique<knock::ServerConfig>(*config_);
    setup.server_key = std::move(server_key);
    setup.used = store_->InMemoryCopy();
    setup.channel = std::move(sniffer_end);
    // The helper's objects (firewall, audit log) must not run their
    // destructors here: _exit, never return.
    _exit(launcher_->Run(std::move(setup), &logger_));
  }
  return true;
}

bool Helper::DropPrivileges(std::string* err) {
  // Not dumpable: the sniffer may run under the same account (systemd's
  // User=), and must not be able to ptrace the helper or read its memory.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    *err = std::string("cannot make the helper undumpable: ") + strerror(errno);
    return false;
  }
  switch (config_->firewall.backend) {
    case knock::FirewallBackend::kCommand:
      // The administrator's commands may need any power root has.
      logger_.Warning(
          "firewall backend \"command\": the helper keeps its "
          "capabilities for the open and close commands");
      return true;
    case knock::FirewallBackend::kNftables:
      return knock::KeepOnlyCapabilities({CAP_NET_ADMIN}, err);
    case knock::FirewallBackend::kNone:
      break;
  }
  return knock::KeepOnlyCapabilities({}, err);
}

bool Helper::OpenAudit(std::string* err) {
  struct stat info;
  if (stat(config_->audit_key_file.c_str(), &info) != 0 && errno == ENOENT) {
    logger_.Warning("audit log off: no sealing key " + config_->audit_key_file +
                    " (run: knockd audit init)");
    return true;
  }
  if (!audit_.Open(config_->audit_log, config_->audit_key_file, err))
    return false;
  audit_.set_max_bytes(config_->audit_max_bytes);
  for (const std::string& note : audit_.TakeNotes())
    logger_.Warning("audit log: " + note);
  return true;
}

void Helper::Audit(const knock::AuditRecord& record) {
  if (!audit_.is_open()) return;
  std::string err;
  if (!audit_.Append(record, &err)) logger_.Error("audit log: " + err);
  for (const std::string& note : audit_.TakeNotes())
    logger_.Warning("audit log: " + note);
}

bool Helper::Start(std::string* err) {
  std::string text;
  knock::PrivateKey key;
  if (!ReadConfigBundle(&text, err) || !LoadConfig(text, &config_, &key, err))
    return false;
  knock::LogLevel level = knock::LogLevel::kInfo;
  knock::ParseLogLevel(config_->log_level, &level);
  logger_.set_min_level(level);
  logger_.set_syslog(config_->syslog);
  for (const std::string& warning : config_->warnings) logger_.Warning(warning);
  StartMetrics();
  if (!OpenState(err) || !OpenAudit(err) ||
      !SetUpFirewall(*config_, &firewall_, err))
    return false;
  // Signals wait in the signalfd from here on; the sniffer ignores them.
  sigset_t signals;
  sigemptyset(&signals);
  for (int signo : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, signo);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  signal_fd_ = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd_ < 0) {
    *err = std::string("signalfd: ") + strerror(errno);
    return false;
  }
  return WritePidFile(err) && ForkSniffer(std::move(key), err) &&
         DropPrivileges(err);
}

bool Helper::WritePidFile(std::string* err) {
  pid_file_dir_ = config_->state_dir;
  return knock::WriteDaemonPidFile(pid_file_dir_, err);
}

void Helper::OnReady() {
  ready_ = true;
  std::string interfaces;
  for (const std::string& name : config_->interfaces)
    interfaces += (interfaces.empty() ? "" : ",") + name;
  Audit(knock::AuditStart(knock::SystemClock().NowMicros(), *config_,
                          firewall_->Name()));
  logger_.Event(knock::LogLevel::kInfo,
                "started: " + std::to_string(config_->clients.size()) +
                    " clients, knock range " + config_->knock.ports.ToString() +
                    " on " + interfaces + ", firewall " + firewall_->Name() +
                    ", sniffer pid " + std::to_string(sniffer_pid_) + " as " +
                    config_->user,
                knock::LifecycleFields(knock::kMessageIdStarted, "started"));
  Notify("READY=1\nSTATUS=knocks are being watched");
}

void Helper::OnGrant(const knock::PrivsepMessage& message) {
  const int64_t now_us = knock::SystemClock().NowMicros();
  const knock::ClientSettings& client = config_->clients[message.owner.client];
  const knock::ServiceSettings& service =
      config_->services[message.owner.service];
  const knock::UsedKey key{client.public_key, service.name,
                           message.owner.window, message.owner.slot};
  const knock::UsedEntry* used = nullptr;
  const knock::UseDecision decision = store_->Use(
      key, message.source, now_us, service.open_for_ms * 1000, &used);
  knock::KnockOutcome event = EventFor(message, *config_,
                                       decision == knock::UseDecision::kRefresh
                                           ? knock::Verdict::kRefreshed
                                           : knock::Verdict::kGranted,
                                       now_us);
  if (decision == knock::UseDecision::kReplay) {
    // The sniffer's copy of the used set lagged (a refresh just after the
    // grant ran out): the helper's set decides.
    event.match.verdict = knock::Verdict::kReplay;
    event.match.first_source = used->first_source;
    CountOutcome(event);
    // Structured too: central logs saw the sniffer's "granted" line.
    logger_.Event(knock::LogLevel::kWarning,
                  "firewall helper refused a grant: client " + client.name +
                      " service " + service.name + " from " +
                      message.source.ToString() + " was used by " +
                      used->first_source.ToString(),
                  knock::OutcomeFields(event));
    Audit(knock::AuditMatch(event, *config_));
    return;
  }
  event.match.expires_us = used->grant_expires_us;
  std::string err;
  // The used set is written before the hole opens: a crash in between must
  // not let the same sequence open twice after a restart.
  if (!store_->Save(&err)) logger_.Error(err);
  knock::Grant grant{message.source, service.ports, service.open_for_ms,
                     client.name,    service.name,  message.owner};
  if (!firewall_->Open(grant, &err)) {
    event.enforced = false;
    logger_.Error("firewall (" + std::string(firewall_->Name()) +
                  ") could not open for " + message.source.ToString() + ": " +
                  err);
  }
  CountOutcome(event);
  Audit(knock::AuditMatch(event, *config_));
  audit_grants_.Track(event);
}

void Helper::OnRefusal(const knock::PrivsepMessage& message) {
  const knock::KnockOutcome event = EventFor(message, *config_, message.verdict,
                                             knock::SystemClock().NowMicros());
  CountOutcome(event);
  Audit(knock::AuditMatch(event, *config_));
}

void Helper::StartMetrics() {
  metrics_.start_time_seconds =
      knock::SystemClock().NowMicros() / kMicrosPerSecond;
  if (!config_->metrics_file.empty())
    metrics_.sniffer_restarts =
        knock::ReadSnifferRestarts(config_->metrics_file);
}

void Helper::CountOutcome(const knock::KnockOutcome& event) {
  switch (event.match.verdict) {
    case knock::Verdict::kGranted:
      ++metrics_.grants;
      break;
    case knock::Verdict::kRefreshed:
      ++metrics_.refreshes;
      break;
    case knock::Verdict::kReplay:
      ++metrics_.replays;
      break;
    case knock::Verdict::kExpiredWindow:
      ++metrics_.expired;
      break;
  }
  if (!event.enforced) ++metrics_.firewall_errors;
}

void Helper::WriteMetrics(int64_t now_us) {
  if (config_ == nullptr || config_->metrics_file.empty()) return;
  last_metrics_us_ = now_us;
  metrics_.open_holes = audit_grants_.size();
  std::string err;
  if (!knock::WriteMetricsFile(config_->metrics_file,
                               knock::FormatMetrics(metrics_), &err) &&
      !metrics_error_logged_) {
    // Once: a directory the helper cannot write stays so.
    logger_.Warning(err);
    metrics_error_logged_ = true;
  }
}

bool Helper::Abandon(const std::string& why) {
  logger_.Event(knock::LogLevel::kError,
                "stopping: " + why + "; the firewall table stays (fail closed)",
                knock::LifecycleFields(knock::kMessageIdStopping, "stopping"));
  Audit(knock::AuditStop(knock::SystemClock().NowMicros(), why));
  if (sniffer_pid_ > 0) {
    kill(sniffer_pid_, SIGKILL);
    waitpid(sniffer_pid_, nullptr, 0);
    sniffer_pid_ = -1;
  }
  stopping_ = true;
  exit_status_ = 1;
  ++metrics_.sniffer_restarts;
  return false;
}

bool Helper::HandleMessage(const knock::PrivsepMessage& message) {
  std::string err;
  if (!knock::CheckSnifferRequest(message, *config_,
                                  knock::SystemClock().NowMicros(), &err))
    return Abandon("the sniffer sent a request out of range: " + err);
  switch (message.type) {
    case knock::PrivsepMessageType::kReady:
      if (ready_) return Abandon("the sniffer said ready twice");
      OnReady();
      return true;
    case knock::PrivsepMessageType::kGrant:
      OnGrant(message);
      return true;
    case knock::PrivsepMessageType::kRefusal:
      OnRefusal(message);
      return true;
    case knock::PrivsepMessageType::kStats:
      metrics_.sniffer = message.stats;
      return true;
    case knock::PrivsepMessageType::kReconfigured:
      if (!pending_reload_)
        return Abandon("the sniffer answered a reload nobody asked for");
      FinishReload(message.accepted);
      return true;
    default:
      return Abandon("the sniffer asked to stop");
  }
}

bool Helper::HandleSniffer() {
  for (;;) {
    std::vector<uint8_t> bytes;
    std::string err;
    // No descriptor is ever accepted from the sniffer (nullptr: the kernel
    // closes any it sends).
    const knock::ReceiveResult got = channel_.Receive(&bytes, nullptr, &err);
    if (got == knock::ReceiveResult::kNone) return true;
    if (got == knock::ReceiveResult::kError) return Abandon("sniffer: " + err);
    if (got == knock::ReceiveResult::kClosed) {
      int status = 0;
      waitpid(sniffer_pid_, &status, 0);
      sniffer_pid_ = -1;
      return Abandon(std::string("the sniffer ") + DescribeExit(status) +
                     (ready_ ? "" : " before it was ready"));
    }
    knock::PrivsepMessage message;
    if (!knock::DecodeSnifferMessage(bytes.data(), bytes.size(), &message,
                                     &err))
      return Abandon("the sniffer sent a bad message: " + err);
    if (!HandleMessage(message)) return false;
  }
}

void Helper::RefuseReload(const std::string& err) {
  ++metrics_.reloads_refused;
  logger_.Event(
      knock::LogLevel::kError,
      "reload refused, keeping the running configuration: " + err,
      knock::LifecycleFields(knock::kMessageIdReloadRefused, "reload_refused"));
  Audit(knock::AuditReload(knock::SystemClock().NowMicros(), config_path_,
                           false, err, 0));
}

void Helper::Notify(const std::string& state) {
  std::string err;
  if (!knock::NotifySystemd(state, &err)) logger_.Warning(err);
}

void Helper::Reload() {
  if (pending_reload_) {
    logger_.Warning("SIGHUP ignored: the previous reload is not finished");
    return;
  }
  Notify(knock::ReloadingState());
  StartReload();
  if (!pending_reload_) Notify("READY=1");
}

void Helper::StartReload() {
  std::string text;
  std::unique_ptr<knock::ServerConfig> config;
  knock::PrivateKey key;
  std::string err;
  if (!ReadConfigBundle(&text, &err) || !LoadConfig(text, &config, &key, &err))
    return RefuseReload(err);
  if (!SameCapture(*config, *config_) || config->user != config_->user)
    return RefuseReload(
        "interfaces, knock.ports, knock.protocol and user take effect on "
        "restart only (the sniffer holds no power to capture anew)");
  std::unique_ptr<knock::Firewall> firewall;
  if (!SetUpFirewall(*config, &firewall, &err)) return RefuseReload(err);
  int config_fd = -1;
  if (!knock::MakeSealedMemfd("knockd.toml", text, &config_fd, &err)) {
    std::string restore_err;
    if (!firewall_->Setup(knock::LayoutFor(*config_), &restore_err))
      logger_.Error("restoring the firewall layout: " + restore_err);
    return RefuseReload(err);
  }
  std::vector<uint8_t> message = knock::EncodeReconfigure(key);
  const bool sent = channel_.Send(message, config_fd, &err);
  sodium_memzero(message.data(), message.size());
  close(config_fd);
  if (!sent) {
    Abandon("sniffer: " + err);
    return;
  }
  pending_reload_ = std::make_unique<PendingReload>();
  pending_reload_->config = std::move(config);
  pending_reload_->firewall = std::move(firewall);
}

void Helper::FinishReload(bool accepted) {
  std::unique_ptr<PendingReload> reload = std::move(pending_reload_);
  std::string err;
  if (!accepted) {
    if (!firewall_->Setup(knock::LayoutFor(*config_), &err))
      logger_.Error("restoring the firewall layout: " + err);
    RefuseReload(
        "the sniffer could not take the new configuration (its "
        "error is logged above)");
    Notify("READY=1");
    return;
  }
  if (reload->config->firewall.table != config_->firewall.table) {
    // The old table would keep hiding ports the new one no longer knows.
    if (!firewall_->Flush(&err)) {
      logger_.Warning("old firewall table: " + err);
    } else {
      Audit(knock::AuditFlush(knock::SystemClock().NowMicros(),
                              config_->firewall.table, "reload"));
      audit_grants_.Clear();
    }
  }
  firewall_ = std::move(reload->firewall);
  config_ = std::move(reload->config);
  logger_.Event(knock::LogLevel::kInfo,
                "reloaded " + config_path_ + ": " +
                    std::to_string(config_->clients.size()) + " clients",
                knock::LifecycleFields(knock::kMessageIdReloaded, "reloaded"));
  audit_.set_max_bytes(config_->audit_max_bytes);
  ++metrics_.reloads;
  Audit(knock::AuditReload(knock::SystemClock().NowMicros(), config_path_, true,
                           "", config_->clients.size()));
  Notify("READY=1");
}

void Helper::HandleSignals(int signal_fd) {
  signalfd_siginfo info;
  while (read(signal_fd, &info, sizeof info) == sizeof info) {
    if (info.ssi_signo == SIGHUP) {
      Reload();
    } else if (!stopping_) {
      logger_.Event(
          knock::LogLevel::kInfo,
          std::string("stopping on ") + strsignal(info.ssi_signo) +
              "; the firewall table stays (fail closed)",
          knock::LifecycleFields(knock::kMessageIdStopping, "stopping"));
      stopping_ = true;
      Audit(
          knock::AuditStop(knock::SystemClock().NowMicros(),
                           std::string("SIG") + sigabbrev_np(info.ssi_signo)));
      Notify("STOPPING=1");
    }
  }
}

void Helper::OnTimer() {
  const int64_t now_us = knock::SystemClock().NowMicros();
  firewall_->Tick(now_us / 1000);
  for (const std::string& err : firewall_->TakeErrors())
    logger_.Error("firewall (" + std::string(firewall_->Name()) + "): " + err);
  for (const knock::AuditRecord& record : audit_grants_.TakeExpired(now_us))
    Audit(record);
  const uint64_t window =
      knock::WindowAt(now_us / kMicrosPerSecond, config_->knock.step_seconds);
  const uint64_t skew = static_cast<uint64_t>(config_->knock.skew);
  store_->PruneBefore(window > skew ? window - skew : 0);
  if (now_us - last_metrics_us_ >= kMetricsPeriodUs) WriteMetrics(now_us);
}

void Helper::PollOnce(int signal_fd) {
  pollfd fds[2] = {{signal_fd, POLLIN, 0}, {channel_.fd(), POLLIN, 0}};
  if (poll(fds, 2, kTimerPeriodMs) < 0 && errno != EINTR) {
    logger_.Error(std::string("poll: ") + strerror(errno));
    return;
  }
  if (fds[1].revents) HandleSniffer();
  if (fds[0].revents & POLLIN) HandleSignals(signal_fd);
  if (!stopping_) OnTimer();
}

void Helper::StopSniffer() {
  if (sniffer_pid_ <= 0) return;
  std::string err;
  if (!channel_.Send(knock::EncodeShutdown(), -1, &err))
    logger_.Warning("sniffer: " + err);
  bool closed = false;
  for (int waited_ms = 0; waited_ms < kSnifferStopWaitMs;
       waited_ms += kStopPollMs) {
    int status = 0;
    if (waitpid(sniffer_pid_, &status, WNOHANG) == sniffer_pid_) {
      sniffer_pid_ = -1;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        logger_.Warning("the sniffer " + DescribeExit(status) + " at stop");
      return;
    }
    if (closed || !channel_.WaitReadable(kStopPollMs)) {
      if (closed) usleep(kStopPollMs * 1000);
      continue;
    }
    // Grants already on their way are still checked, enforced and audited,
    // under the same rules as before the stop.
    std::vector<uint8_t> bytes;
    knock::PrivsepMessage message;
    const knock::ReceiveResult got = channel_.Receive(&bytes, nullptr, &err);
    closed = got == knock::ReceiveResult::kClosed ||
             got == knock::ReceiveResult::kError;
    if (got != knock::ReceiveResult::kMessage) continue;
    if (!knock::DecodeSnifferMessage(bytes.data(), bytes.size(), &message,
                                     &err)) {
      Abandon("the sniffer sent a bad message: " + err);
      return;
    }
    if (!HandleMessage(message)) return;
  }
  logger_.Warning("the sniffer did not stop; killing it");
  kill(sniffer_pid_, SIGKILL);
  waitpid(sniffer_pid_, nullptr, 0);
  sniffer_pid_ = -1;
}

int Helper::Loop() {
  while (!stopping_) PollOnce(signal_fd_);
  StopSniffer();
  WriteMetrics(knock::SystemClock().NowMicros());
  close(signal_fd_);
  if (!pid_file_dir_.empty()) knock::RemoveDaemonPidFile(pid_file_dir_);
  return exit_status_;
}

}  // namespace knockd
