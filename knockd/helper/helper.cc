#include "knockd/helper/helper.h"

#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/clock.h"
#include "common/file_owner.h"
#include "common/ip_address.h"
#include "common/key_file.h"
#include "common/knock_sequence.h"
#include "common/toml_document.h"
#include "knockd/helper/listening_sockets.h"
#include "knockd/helper/metrics_file.h"
#include "knockd/helper/restart_only_change.h"
#include "knockd/helper/sd_notify.h"
#include "knockd/helper/sniffer_request_check.h"
#include "knockd/shared/daemon_pid_file.h"
#include "knockd/shared/privileges.h"
#include "knockd/shared/reload_answer.h"
#include "knockd/shared/sealed_memfd.h"
#include "knockd/shared/state_dir_check.h"

namespace knockd {

namespace {

constexpr int kTimerPeriodMs = 1000;
constexpr int kSnifferStopWaitMs = 3000;
constexpr int kStopPollMs = 50;
constexpr int64_t kMicrosPerSecond = 1000000;
constexpr mode_t kStateDirMode = 0700;
// As the state directory: reload answers may name clients and files.
constexpr mode_t kRuntimeDirMode = 0700;
// Audit records wait at most one pass of the loop, and at most this many.
constexpr size_t kMaxAuditBatch = 64;

const knock::SystemClock kSystemClock;
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

std::string PortList(std::span<const uint16_t> ports) {
  std::string text;
  for (uint16_t port : ports)
    text += (text.empty() ? "" : ",") + std::to_string(port);
  return text;
}

/// "client alice service ssh from 198.18.0.2 (window 5 slot 0)"
std::string Describe(const knock::KnockOutcome& event) {
  const knock::MatchEvent& match = event.match;
  return "client " + event.client + " service " + event.service + " from " +
         match.source.ToString() + " (window " +
         std::to_string(match.owner.window) + " slot " +
         std::to_string(match.owner.slot) + ")";
}

HelperSeams SeamsWith(knock::SnifferLauncher* launcher) {
  HelperSeams seams;
  seams.launcher = launcher;
  return seams;
}

}  // namespace

Helper::Helper(std::string config_path, knock::SnifferLauncher* launcher)
    : Helper(std::move(config_path), SeamsWith(launcher)) {}

Helper::Helper(std::string config_path, HelperSeams seams)
    : config_path_(std::move(config_path)),
      seams_(std::move(seams)),
      launcher_(seams_.launcher),
      clock_(seams_.clock != nullptr ? seams_.clock : &kSystemClock) {}

bool Helper::ReadConfigBundle(std::string* bundle, std::string* err) {
  knock::ConfigSources sources;
  if (!knock::ReadConfigSources(config_path_, &sources, err)) return false;
  *bundle = knock::EncodeConfigSources(sources);
  return true;
}

bool Helper::ParseConfig(const std::string& bundle,
                         std::unique_ptr<knock::ServerConfig>* config,
                         std::string* err) {
  auto loaded = std::make_unique<knock::ServerConfig>();
  knock::ConfigSources sources;
  if (!knock::DecodeConfigSources(bundle, &sources, err) ||
      !knock::ParseServerConfigSources(sources, loaded.get(), err))
    return false;
  *config = std::move(loaded);
  return true;
}

bool Helper::DeriveSequences(
    const knock::ServerConfig& config,
    std::unique_ptr<knock::SequenceAuthority>* authority, std::string* err) {
  knock::PrivateKey key;
  // Under systemd the key belongs to the daemon's account, not root.
  if (!knock::ReadPrivateKeyFile(config.private_key_file,
                                 knock::AccountUid(config.user), &key, err))
    return false;
  auto made = std::make_unique<knock::SequenceAuthority>();
  if (!made->Init(config, key, err)) return false;
  made->RollTo(
      knock::WindowAt(Now() / kMicrosPerSecond, config.knock.step_seconds));
  *authority = std::move(made);
  return true;
}

bool Helper::SendTable(std::string* err) {
  const std::string image = authority_->EncodedImage();
  int fd = -1;
  if (!knock::MakeSealedMemfd("knockd-table", image, &fd, err)) return false;
  const bool sent = channel_.Send(knock::EncodeTable(image.size()), fd, err);
  close(fd);
  return sent;
}

void Helper::RollWindows(int64_t now_us) {
  // During a reload the sniffer may already hold the new configuration: a
  // table of the old one would name the wrong owners. The reload's own
  // image reaches a window ahead; the roll follows its answer.
  if (pending_reload_) return;
  const uint64_t window =
      knock::WindowAt(now_us / kMicrosPerSecond, config_->knock.step_seconds);
  std::string err;
  if (authority_->RollTo(window) && !SendTable(&err))
    Abandon("cannot hand the sniffer its tables: " + err);
}

bool Helper::OpenState(std::string* err) {
  if (!MakeDirectories(config_->state_dir, err)) return false;
  if (!knock::CheckStateDirectory(config_->state_dir, config_->user, err))
    return false;
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
  auto made = seams_.make_firewall ? seams_.make_firewall(config.firewall)
                                   : knock::MakeFirewall(config.firewall);
  if (!made->Setup(knock::LayoutFor(config), err)) return false;
  *firewall = std::move(made);
  return true;
}

bool Helper::ForkSniffer(std::string* err) {
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
    setup.used = store_->InMemoryCopy();
    setup.channel = std::move(sniffer_end);
    // The helper's objects (firewall, audit log) must not run their
    // destructors here: _exit, never return.
    _exit(launcher_->Run(std::move(setup), &logger_));
  }
  return true;
}

void Helper::KillSniffer() {
  if (sniffer_pid_ <= 0) return;
  // Once the helper kept only CAP_NET_ADMIN it may not signal a sniffer
  // under another account (no CAP_KILL): closing the channel ends an honest
  // sniffer, and the helper's own exit ends any other (PDEATHSIG). So the
  // wait is bounded.
  kill(sniffer_pid_, SIGKILL);
  channel_.Close();
  for (int waited_ms = 0; waited_ms < kSnifferStopWaitMs;
       waited_ms += kStopPollMs) {
    if (waitpid(sniffer_pid_, nullptr, WNOHANG) == sniffer_pid_) break;
    usleep(kStopPollMs * 1000);
  }
  sniffer_pid_ = -1;
}

bool Helper::DropPrivileges(std::string* err) {
  if (!seams_.drop_privileges) return true;
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
  audit_batch_.push_back(record);
  if (audit_batch_.size() >= kMaxAuditBatch) FlushAudit();
}

void Helper::FlushAudit() {
  if (audit_batch_.empty()) return;
  std::string err;
  // A group commit: every record of the batch sealed and written, then the
  // sealing state replaced (fsynced) once. Holes were opened before their
  // records, as before; the used set was saved before each hole.
  if (!audit_.AppendAll(audit_batch_, &err)) logger_.Error("audit log: " + err);
  audit_batch_.clear();
  for (const std::string& note : audit_.TakeNotes())
    logger_.Warning("audit log: " + note);
}

bool Helper::Start(std::string* err) {
  std::string text;
  if (!ReadConfigBundle(&text, err) || !ParseConfig(text, &config_, err))
    return false;
  knock::LogLevel level = knock::LogLevel::kInfo;
  knock::ParseLogLevel(config_->log_level, &level);
  logger_.set_min_level(level);
  logger_.set_syslog(config_->syslog);
  for (const std::string& warning : config_->warnings) logger_.Warning(warning);
  StartMetrics();
  if (!OpenState(err) || !WritePidFile(err)) return false;
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
  // The sniffer is forked before any key is read (the server's, the audit
  // log's): it shares none of the helper's memory after the fork, so it can
  // never hold a copy.
  if (!ForkSniffer(err)) return false;
  if (StartAfterFork(err)) return true;
  KillSniffer();
  return false;
}

bool Helper::StartAfterFork(std::string* err) {
  if (!DeriveSequences(*config_, &authority_, err) || !OpenAudit(err) ||
      !WatchRuleset(err) || !SetUpFirewall(*config_, &firewall_, err) ||
      !AdoptOwnRulesetCommit(err) || !DropPrivileges(err))
    return false;
  // The sniffer waits for its first tables before it says ready.
  if (SendTable(err)) return true;
  *err = "cannot hand the sniffer its tables: " + *err;
  return false;
}

bool Helper::WritePidFile(std::string* err) {
  const knock::DaemonFiles in_state =
      knock::StateDirDaemonFiles(config_->state_dir);
  if (!knock::WriteDaemonPidFile(in_state, config_path_, err)) return false;
  // Answers of an earlier run (one killed, or before a reboot, whose
  // monotonic times mean nothing now) must not answer anyone.
  unlink(in_state.answer.c_str());
  daemon_files_ = {in_state};
  // The runtime directory's files are found whatever the configuration on
  // disk says by then; without them (no /run/knockd and no power to make
  // it) `knockd reload` falls back to the state directory's.
  const std::string runtime_dir = seams_.runtime_dir.empty()
                                      ? knock::DefaultRuntimeDirectory()
                                      : seams_.runtime_dir;
  const knock::DaemonFiles in_runtime =
      knock::RuntimeDaemonFiles(runtime_dir, config_path_);
  std::string runtime_err;
  if (mkdir(runtime_dir.c_str(), kRuntimeDirMode) != 0 && errno != EEXIST)
    runtime_err = runtime_dir + ": " + strerror(errno);
  if (!runtime_err.empty() ||
      !knock::WriteDaemonPidFile(in_runtime, config_path_, &runtime_err)) {
    logger_.Warning("no pid file in " + runtime_dir + " (" + runtime_err +
                    "): `knockd reload` finds this daemon through " +
                    in_state.pid + " only");
    return true;
  }
  unlink(in_runtime.answer.c_str());
  daemon_files_.insert(daemon_files_.begin(), in_runtime);
  return true;
}

void Helper::OnReady() {
  ready_ = true;
  std::string interfaces;
  for (const std::string& name : config_->interfaces)
    interfaces += (interfaces.empty() ? "" : ",") + name;
  Audit(knock::AuditStart(Now(), *config_, firewall_->Name()));
  logger_.Event(knock::LogLevel::kInfo,
                "started: " + std::to_string(config_->clients.size()) +
                    " clients, knock range " + config_->knock.ports.ToString() +
                    " on " + interfaces + ", firewall " + firewall_->Name() +
                    ", sniffer pid " + std::to_string(sniffer_pid_) + " as " +
                    config_->user,
                knock::LifecycleFields(knock::kMessageIdStarted, "started"));
  Notify("READY=1\nSTATUS=knocks are being watched");
}

void Helper::RefuseGrant(knock::KnockOutcome* event, const std::string& why) {
  event->enforced = false;
  // Nothing opened: in the audit record it ends as it was decided.
  event->match.expires_us = event->match.time_us;
  logger_.Event(
      knock::LogLevel::kWarning,
      "firewall helper refused a grant: " + Describe(*event) + ": " + why,
      knock::NotEnforcedFields(*event, why));
  Audit(knock::AuditMatch(*event, *config_));
}

bool Helper::OnGrant(const knock::PrivsepMessage& message) {
  std::string err;
  // A sniffer can only report a sequence a client really sent: ports that
  // are not its owner's sequence mean it lies.
  const knock::Evidence evidence = authority_->CheckEvidence(message, &err);
  if (evidence == knock::Evidence::kForged)
    return Abandon("the sniffer sent a grant without its sequence: " + err);
  const int64_t now_us = Now();
  const knock::ClientSettings& client = config_->clients[message.owner.client];
  const knock::ServiceSettings& service =
      config_->services[message.owner.service];
  knock::KnockOutcome event =
      EventFor(message, *config_, knock::Verdict::kGranted, now_us);
  event.match.ports.assign(message.grant_ports().begin(),
                           message.grant_ports().end());
  const knock::AddressClass address_class =
      knock::ClassifyAddress(message.source);
  if (address_class != knock::AddressClass::kUnicast) {
    RefuseGrant(&event, std::string("a ") +
                            knock::AddressClassName(address_class) +
                            " address is no single host");
    return true;
  }
  // Neither refusal uses the sequence up: a racer's copy must not lock out
  // the client whose sequence it is.
  if (evidence == knock::Evidence::kBoundElsewhere) {
    event.refused = "bound_mismatch";
    RefuseGrant(&event, err);
    return true;
  }
  if (!message.owner.bound && knock::RequiresBound(client, service)) {
    event.refused = "unbound_refused";
    RefuseGrant(&event, "client " + client.name + " must knock bound for " +
                            service.name + " (require_bound)");
    return true;
  }
  const knock::UsedKey key{client.public_key, service.name,
                           message.owner.window, message.owner.slot};
  const std::optional<knock::UsedEntry> before = store_->Find(key);
  const knock::UsedEntry* used = nullptr;
  const knock::UseDecision decision =
      store_->Use(key, config_->knock.step_seconds, message.source, now_us,
                  service.open_for_ms * 1000, &used);
  if (decision == knock::UseDecision::kForgotten) {
    event.refused = "pruned_window";
    RefuseGrant(
        &event,
        "window " + std::to_string(key.window) +
            " was pruned from the used set (it holds no window that "
            "began before " +
            knock::FormatTimestampUs(*store_->pruned_until_unix() * 1000000) +
            ") and may have been used: the clock went back");
    return true;
  }
  if (decision == knock::UseDecision::kReplay) {
    // The sniffer's copy of the used set lagged (a refresh just after the
    // grant ran out), or it lies: the helper's set decides.
    event.match.verdict = knock::Verdict::kReplay;
    event.match.first_source = used->first_source;
    CountOutcome(event);
    // Structured too: central logs may have seen the grant's knock.
    logger_.Event(knock::LogLevel::kWarning,
                  "firewall helper refused a grant: " + Describe(event) +
                      ": used by " + used->first_source.ToString(),
                  knock::OutcomeFields(event));
    Audit(knock::AuditMatch(event, *config_));
    return true;
  }
  if (decision == knock::UseDecision::kRefresh)
    event.match.verdict = knock::Verdict::kRefreshed;
  event.match.expires_us = used->grant_expires_us;
  // The used set is written before the hole opens: a crash in between must
  // not let the same sequence open twice after a restart. Unsaved, nothing
  // opens, and the set forgets the use so that it stays what the file says.
  if (!store_->Save(&err)) {
    store_->Restore(key, before);
    RefuseGrant(&event, "the used set cannot be saved: " + err);
    return true;
  }
  knock::Grant grant;
  grant.source = message.source;
  grant.ports = service.ports;
  grant.timeout_ms = service.open_for_ms;
  grant.client = client.name;
  grant.service = service.name;
  grant.owner = message.owner;
  if (ruleset_guard_) ruleset_guard_->grants().Add(grant, now_us / 1000);
  if (!firewall_->Open(grant, &err)) {
    event.enforced = false;
    logger_.Event(knock::LogLevel::kError,
                  "firewall (" + std::string(firewall_->Name()) +
                      ") could not open for " + message.source.ToString() +
                      ": " + err,
                  knock::NotEnforcedFields(event, err));
  } else {
    logger_.Event(knock::LogLevel::kInfo,
                  std::string(knock::VerdictName(event.match.verdict)) + " " +
                      Describe(event) + " ports " +
                      PortList(message.grant_ports()) + " until " +
                      knock::FormatTimestampUs(event.match.expires_us),
                  knock::OutcomeFields(event));
  }
  CountOutcome(event);
  Audit(knock::AuditMatch(event, *config_));
  audit_grants_.Track(event);
  return true;
}

void Helper::OnRefusal(const knock::PrivsepMessage& message) {
  const knock::KnockOutcome event =
      EventFor(message, *config_, message.verdict, Now());
  CountOutcome(event);
  Audit(knock::AuditMatch(event, *config_));
}

void Helper::StartMetrics() {
  metrics_.start_time_seconds = Now() / kMicrosPerSecond;
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

void Helper::OnRefusalSummary(const knock::PrivsepMessage& message) {
  const knock::RefusalSummary& summary = message.summary;
  const std::string& client = config_->clients[summary.owner.client].name;
  const std::string& service = config_->services[summary.owner.service].name;
  // Structured as one refusal from the first source, with the counts, so
  // that central logs see floods of refusals too.
  knock::KnockOutcome first;
  first.match.verdict = summary.verdict;
  first.match.source = summary.addresses[0];
  first.match.first_source = summary.first_source;
  first.match.owner = summary.owner;
  first.client = client;
  first.service = service;
  // Each refusal the summary stands for counts, as a single one would.
  if (summary.verdict == knock::Verdict::kReplay)
    metrics_.replays += summary.count;
  else if (summary.verdict == knock::Verdict::kExpiredWindow)
    metrics_.expired += summary.count;
  std::vector<knock::LogField> fields = knock::OutcomeFields(first);
  fields.push_back({"KNOCK_COUNT", std::to_string(summary.count)});
  fields.push_back({"KNOCK_SOURCES", std::to_string(summary.sources)});
  logger_.Event(
      knock::LogLevel::kWarning,
      "refused " + std::to_string(summary.count) + " " +
          knock::AuditEventName(summary.verdict) + " of client " + client +
          " service " + service + " (window " +
          std::to_string(summary.owner.window) + " slot " +
          std::to_string(summary.owner.slot) + ") from " +
          (summary.sources_capped ? "at least " : "") +
          std::to_string(summary.sources) + " sources in the second of " +
          knock::FormatTimestampUs(summary.second * kMicrosPerSecond) +
          ", first " + summary.addresses[0].ToString(),
      fields);
  Audit(knock::AuditRefusals(knock::SystemClock().NowMicros(), summary, client,
                             service));
}

bool Helper::Abandon(const std::string& why) {
  logger_.Event(knock::LogLevel::kError,
                "stopping: " + why + "; the firewall table stays (fail closed)",
                knock::LifecycleFields(knock::kMessageIdStopping, "stopping"));
  Audit(knock::AuditStop(Now(), why));
  KillSniffer();
  stopping_ = true;
  exit_status_ = 1;
  ++metrics_.sniffer_restarts;
  return false;
}

bool Helper::HandleMessage(const knock::PrivsepMessage& message) {
  std::string err;
  if (!knock::CheckSnifferRequest(message, *config_, Now(), &err))
    return Abandon("the sniffer sent a request out of range: " + err);
  switch (message.type) {
    case knock::PrivsepMessageType::kReady:
      if (ready_) return Abandon("the sniffer said ready twice");
      OnReady();
      return true;
    case knock::PrivsepMessageType::kGrant:
      return OnGrant(message);
    case knock::PrivsepMessageType::kRefusal:
      OnRefusal(message);
      return true;
    case knock::PrivsepMessageType::kRefusalSummary:
      OnRefusalSummary(message);
      return true;
    case knock::PrivsepMessageType::kStats:
      metrics_.sniffer = message.stats;
      return true;
    case knock::PrivsepMessageType::kReconfigured:
      if (!pending_reload_)
        return Abandon("the sniffer answered a reload nobody asked for");
      FinishReload(message.accepted);
      if (reload_again_ && !stopping_) {
        const knock::ReloadRequest again = *reload_again_;
        reload_again_.reset();
        Reload(again);
      }
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

void Helper::AnswerReload(const knock::ReloadRequest& request, bool accepted,
                          const std::string& message) {
  answers_.push_back({request, accepted, message, reload_started_ns_});
  if (answers_.size() > knock::kReloadAnswersKept)
    answers_.erase(answers_.begin());
  for (const knock::DaemonFiles& files : daemon_files_) {
    std::string err;
    if (!knock::WriteReloadAnswersFile(files.answer, answers_, &err))
      logger_.Warning(err);
  }
}

void Helper::RefuseReload(const std::string& err) {
  ++metrics_.reloads_refused;
  const std::string line =
      "reload refused, keeping the running configuration: " + err;
  logger_.Event(
      knock::LogLevel::kError, line,
      knock::LifecycleFields(knock::kMessageIdReloadRefused, "reload_refused"));
  AnswerReload(reload_request_, false, line);
  Audit(knock::AuditReload(Now(), config_path_, false, err, 0));
}

void Helper::Notify(const std::string& state) {
  std::string err;
  if (!knock::NotifySystemd(state, &err)) logger_.Warning(err);
}

void Helper::Reload(const knock::ReloadRequest& request) {
  if (pending_reload_) {
    // The reload under way may have read the configuration before this
    // sender's edit: another one follows it.
    if (!reload_again_)
      logger_.Warning(
          "SIGHUP during a reload: another reload follows this one");
    reload_again_ = request;
    return;
  }
  reload_request_ = request;
  reload_started_ns_ = knock::ReloadClockNanos();
  Notify(knock::ReloadingState());
  StartReload();
  if (!pending_reload_) Notify("READY=1");
}

void Helper::StartReload() {
  std::string text;
  std::unique_ptr<knock::ServerConfig> config;
  std::unique_ptr<knock::SequenceAuthority> authority;
  std::string err;
  if (!ReadConfigBundle(&text, &err) || !ParseConfig(text, &config, &err) ||
      !DeriveSequences(*config, &authority, &err))
    return RefuseReload(err);
  const std::string restart_only = knock::RestartOnlyChange(*config_, *config);
  if (!restart_only.empty()) return RefuseReload(restart_only);
  std::unique_ptr<knock::Firewall> firewall;
  if (!SetUpFirewall(*config, &firewall, &err)) return RefuseReload(err);
  // One sealed memfd: the configuration text, then the new tables.
  const std::string image = authority->EncodedImage();
  int config_fd = -1;
  if (!knock::MakeSealedMemfd("knockd.toml", text + image, &config_fd, &err)) {
    std::string restore_err;
    if (!firewall_->Setup(knock::LayoutFor(*config_), &restore_err))
      logger_.Error("restoring the firewall layout: " + restore_err);
    return RefuseReload(err);
  }
  const bool sent = channel_.Send(
      knock::EncodeReconfigure(text.size(), image.size()), config_fd, &err);
  close(config_fd);
  if (!sent) {
    Abandon("sniffer: " + err);
    return;
  }
  pending_reload_ = std::make_unique<PendingReload>();
  pending_reload_->config = std::move(config);
  pending_reload_->firewall = std::move(firewall);
  pending_reload_->authority = std::move(authority);
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
      Audit(knock::AuditFlush(Now(), config_->firewall.table, "reload"));
      audit_grants_.Clear();
    }
    if (ruleset_guard_)
      ruleset_guard_->Retarget(reload->config->firewall.table);
  }
  firewall_ = std::move(reload->firewall);
  config_ = std::move(reload->config);
  authority_ = std::move(reload->authority);
  const std::string line = "reloaded " + config_path_ + ": " +
                           std::to_string(config_->clients.size()) + " clients";
  logger_.Event(knock::LogLevel::kInfo, line,
                knock::LifecycleFields(knock::kMessageIdReloaded, "reloaded"));
  AnswerReload(reload_request_, true, line);
  audit_.set_max_bytes(config_->audit_max_bytes);
  ++metrics_.reloads;
  Audit(knock::AuditReload(Now(), config_path_, true, "",
                           config_->clients.size()));
  Notify("READY=1");
}

void Helper::HandleSignals(int signal_fd) {
  signalfd_siginfo info;
  while (read(signal_fd, &info, sizeof info) == sizeof info) {
    if (info.ssi_signo == SIGHUP) {
      Reload({static_cast<pid_t>(info.ssi_pid), info.ssi_int});
    } else if (!stopping_) {
      logger_.Event(
          knock::LogLevel::kInfo,
          std::string("stopping on ") + strsignal(info.ssi_signo) +
              "; the firewall table stays (fail closed)",
          knock::LifecycleFields(knock::kMessageIdStopping, "stopping"));
      stopping_ = true;
      Audit(knock::AuditStop(
          Now(), std::string("SIG") + sigabbrev_np(info.ssi_signo)));
      Notify("STOPPING=1");
    }
  }
}

void Helper::OnTimer() {
  const int64_t now_us = Now();
  firewall_->Tick(now_us / 1000);
  for (const std::string& err : firewall_->TakeErrors())
    logger_.Error("firewall (" + std::string(firewall_->Name()) + "): " + err);
  for (const knock::AuditRecord& record : audit_grants_.TakeExpired(now_us))
    Audit(record);
  // The used set keeps every window a grant may still name.
  store_->PruneBefore(knock::AcceptedWindows(now_us, config_->knock).oldest,
                      config_->knock.step_seconds);
  RollWindows(now_us);
  if (now_us - last_metrics_us_ >= kMetricsPeriodUs) WriteMetrics(now_us);
}

void Helper::Step(int timeout_ms) {
  pollfd fds[3] = {{signal_fd_, POLLIN, 0},
                   {channel_.fd(), POLLIN, 0},
                   {ruleset_guard_ ? ruleset_guard_->fd() : -1, POLLIN, 0}};
  if (poll(fds, 3, timeout_ms) < 0 && errno != EINTR) {
    logger_.Error(std::string("poll: ") + strerror(errno));
    return;
  }
  // The table first: while it is missing the protected ports are open.
  if (fds[2].revents && !stopping_) OnRulesetEvents();
  if (fds[1].revents && !stopping_) HandleSniffer();
  if (fds[0].revents & POLLIN) HandleSignals(signal_fd_);
  if (!stopping_) OnTimer();
  FlushAudit();
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
  KillSniffer();
}

int Helper::Loop() {
  while (!stopping_) Step(kTimerPeriodMs);
  return Finish();
}

int Helper::Finish() {
  StopSniffer();
  FlushAudit();
  WriteMetrics(Now());
  if (signal_fd_ >= 0) close(signal_fd_);
  signal_fd_ = -1;
  for (const knock::DaemonFiles& files : daemon_files_)
    knock::RemoveDaemonPidFile(files);
  return exit_status_;
}

}  // namespace knockd
