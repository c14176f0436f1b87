#include "knockd/daemon.h"

#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <vector>

#include "common/clock.h"
#include "common/key_file.h"
#include "common/listening_sockets.h"
#include "common/privileges.h"
#include "common/sd_notify.h"

namespace knockd {

namespace {

constexpr int kTimerPeriodMs = 1000;
constexpr mode_t kStateDirMode = 0700;

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

}  // namespace

Daemon::Daemon(std::string config_path) : config_path_(std::move(config_path)) {}

bool Daemon::LoadConfig(std::unique_ptr<knock::ServerConfig>* config,
                        knock::PrivateKey* key, std::string* err) {
  auto loaded = std::make_unique<knock::ServerConfig>();
  if (!knock::LoadServerConfig(config_path_, loaded.get(), err)) return false;
  if (!knock::ReadPrivateKeyFile(loaded->private_key_file, key, err))
    return false;
  *config = std::move(loaded);
  return true;
}

bool Daemon::OpenState(std::string* err) {
  if (!MakeDirectories(config_->state_dir, err)) return false;
  store_ = std::make_unique<knock::ReplayStore>(config_->state_dir +
                                                "/used-sequences");
  return store_->Load(err);
}

bool Daemon::SetUpFirewall(const knock::ServerConfig& config,
                           std::unique_ptr<knock::Firewall>* firewall,
                           std::string* err) {
  std::vector<knock::Listener> listeners;
  // The firewall silences both transports in the range, so a socket of
  // either kind there would be cut off.
  if (!knock::FindListenersInRange(config.knock.ports, knock::KnockProtocol::kBoth,
                                   &listeners, err))
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

bool Daemon::DropPrivileges(std::string* err) {
  // The administrator's commands may need any power root has; only the
  // built-in backends let knockd shed everything but the network.
  if (config_->firewall.backend == knock::FirewallBackend::kCommand) {
    logger_.Warning("firewall backend \"command\": capabilities are kept for "
                    "the open and close commands");
    return true;
  }
  // CAP_NET_ADMIN for nftables; CAP_NET_RAW to reopen capture on reload.
  return knock::KeepOnlyCapabilities({CAP_NET_ADMIN, CAP_NET_RAW}, err);
}

bool Daemon::OpenAudit(std::string* err) {
  struct stat info;
  if (stat(config_->audit_key_file.c_str(), &info) != 0 && errno == ENOENT) {
    logger_.Warning("audit log off: no sealing key " +
                    config_->audit_key_file + " (run: knockd audit init)");
    return true;
  }
  if (!audit_.Open(config_->audit_log, config_->audit_key_file, err))
    return false;
  audit_.set_max_bytes(config_->audit_max_bytes);
  for (const std::string& note : audit_.TakeNotes())
    logger_.Warning("audit log: " + note);
  return true;
}

void Daemon::Audit(const knock::AuditRecord& record) {
  if (!audit_.is_open()) return;
  std::string err;
  if (!audit_.Append(record, &err)) logger_.Error("audit log: " + err);
  for (const std::string& note : audit_.TakeNotes())
    logger_.Warning("audit log: " + note);
}

void Daemon::OnPipelineEvent(const knock::PipelineEvent& event) {
  Audit(knock::AuditMatch(event, *config_));
  audit_grants_.Track(event);
}

void Daemon::RefuseReload(const std::string& err) {
  logger_.Error("reload refused, keeping the running configuration: " + err);
  Audit(knock::AuditReload(knock::SystemClock().NowMicros(), config_path_,
                           false, err, 0));
}

bool Daemon::Start(std::string* err) {
  if (!LoadConfig(&config_, &server_key_, err)) return false;
  knock::LogLevel level = knock::LogLevel::kInfo;
  knock::ParseLogLevel(config_->log_level, &level);
  logger_.set_min_level(level);
  logger_.set_syslog(config_->syslog);
  for (const std::string& warning : config_->warnings) logger_.Warning(warning);
  if (!OpenState(err) || !OpenAudit(err) ||
      !SetUpFirewall(*config_, &firewall_, err))
    return false;
  if (!knock::OpenLiveSource(config_->interfaces, config_->knock, &source_,
                             err))
    return false;
  pipeline_ = std::make_unique<knock::KnockPipeline>(
      config_.get(), firewall_.get(), store_.get(), &logger_,
      (uint64_t{std::random_device{}()} << 32) | std::random_device{}());
  if (!pipeline_->Init(server_key_, err)) return false;
  pipeline_->set_event_handler(
      [this](const knock::PipelineEvent& event) { OnPipelineEvent(event); });
  pipeline_->OnTimer(knock::SystemClock().NowMicros());
  if (!DropPrivileges(err)) return false;
  std::string interfaces;
  for (const std::string& name : config_->interfaces)
    interfaces += (interfaces.empty() ? "" : ",") + name;
  Audit(knock::AuditStart(knock::SystemClock().NowMicros(), *config_,
                          firewall_->Name()));
  logger_.Info("started: " + std::to_string(config_->clients.size()) +
               " clients, knock range " + config_->knock.ports.ToString() +
               " on " + interfaces + ", firewall " + firewall_->Name());
  Notify("READY=1\nSTATUS=knocks are being watched");
  return true;
}

void Daemon::Notify(const std::string& state) {
  std::string err;
  if (!knock::NotifySystemd(state, &err)) logger_.Warning(err);
}

void Daemon::Reload() {
  Notify(knock::ReloadingState());
  ReloadConfig();
  Notify("READY=1");
}

void Daemon::ReloadConfig() {
  std::unique_ptr<knock::ServerConfig> config;
  knock::PrivateKey key;
  std::string err;
  if (!LoadConfig(&config, &key, &err)) {
    RefuseReload(err);
    return;
  }
  std::unique_ptr<knock::PacketSource> source;
  if (!SameCapture(*config, *config_) &&
      !knock::OpenLiveSource(config->interfaces, config->knock, &source,
                             &err)) {
    RefuseReload(err);
    return;
  }
  std::unique_ptr<knock::Firewall> firewall;
  if (!SetUpFirewall(*config, &firewall, &err)) {
    RefuseReload(err);
    return;
  }
  if (!pipeline_->Reconfigure(config.get(), firewall.get(), key, &err)) {
    std::string restore_err;
    if (!firewall_->Setup(knock::LayoutFor(*config_), &restore_err))
      logger_.Error("restoring the firewall layout: " + restore_err);
    RefuseReload(err);
    return;
  }
  if (config->firewall.table != config_->firewall.table) {
    // The old table would keep hiding ports the new one no longer knows.
    if (!firewall_->Flush(&err)) {
      logger_.Warning("old firewall table: " + err);
    } else {
      Audit(knock::AuditFlush(knock::SystemClock().NowMicros(),
                              config_->firewall.table, "reload"));
      audit_grants_.Clear();
    }
  }
  firewall_ = std::move(firewall);
  if (source) source_ = std::move(source);
  config_ = std::move(config);
  server_key_ = std::move(key);
  logger_.Info("reloaded " + config_path_ + ": " +
               std::to_string(config_->clients.size()) + " clients");
  audit_.set_max_bytes(config_->audit_max_bytes);
  Audit(knock::AuditReload(knock::SystemClock().NowMicros(), config_path_,
                           true, "", config_->clients.size()));
}

bool Daemon::HandleSignals(int signal_fd) {
  signalfd_siginfo info;
  while (read(signal_fd, &info, sizeof info) == sizeof info) {
    if (info.ssi_signo == SIGHUP) {
      Reload();
    } else {
      logger_.Info(std::string("stopping on ") + strsignal(info.ssi_signo) +
                   "; the firewall table stays (fail closed)");
      stopping_ = true;
      Audit(knock::AuditStop(knock::SystemClock().NowMicros(),
                             std::string("SIG") +
                                 sigabbrev_np(info.ssi_signo)));
      Notify("STOPPING=1");
    }
  }
  return !stopping_;
}

void Daemon::PollOnce(int signal_fd) {
  std::vector<pollfd> fds;
  fds.push_back({signal_fd, POLLIN, 0});
  for (int fd : source_->PollFds()) fds.push_back({fd, POLLIN, 0});
  const int ready = poll(fds.data(), fds.size(), kTimerPeriodMs);
  if (ready < 0 && errno != EINTR) {
    logger_.Error(std::string("poll: ") + strerror(errno));
    return;
  }
  if (fds[0].revents & POLLIN) HandleSignals(signal_fd);
  std::string err;
  knock::KnockPipeline* pipeline = pipeline_.get();
  if (!source_->Dispatch(
          [pipeline](const knock::Frame& frame) { pipeline->OnFrame(frame); },
          &err) &&
      !err.empty())
    logger_.Error("capture: " + err);
  const int64_t now_us = knock::SystemClock().NowMicros();
  pipeline_->OnTimer(now_us);
  for (const knock::AuditRecord& record : audit_grants_.TakeExpired(now_us))
    Audit(record);
}

int Daemon::Loop() {
  sigset_t signals;
  sigemptyset(&signals);
  for (int signo : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, signo);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  const int signal_fd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd < 0) {
    logger_.Error(std::string("signalfd: ") + strerror(errno));
    return 1;
  }
  while (!stopping_) PollOnce(signal_fd);
  close(signal_fd);
  logger_.Info("counters: " + pipeline_->CountersLine());
  // What the kernel could not hand us: the benchmarks' capture-drop figure.
  const knock::CaptureStats capture = source_->Stats();
  logger_.Info("capture: received " + std::to_string(capture.received) +
               " dropped_by_kernel " +
               std::to_string(capture.dropped_by_kernel));
  return 0;
}

}  // namespace knockd
