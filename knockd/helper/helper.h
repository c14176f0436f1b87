#pragma once
// `knockd run`: sets everything up with root's power, then splits in two
// (docs/ARCHITECTURE.md, "Privilege separation"). This process becomes the
// firewall helper: it keeps only CAP_NET_ADMIN, enforces the grants the
// sniffer asks for after checking them, keeps the used set and writes the
// audit log. The sniffer it forks (through a SnifferLauncher) parses the
// packets.

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "knockd/audit/audit_grant_tracker.h"
#include "knockd/audit/audit_log.h"
#include "knockd/helper/make_firewall.h"
#include "knockd/helper/metrics_file.h"
#include "knockd/helper/ruleset_guard.h"
#include "knockd/helper/ruleset_monitor.h"
#include "knockd/helper/sequence_authority.h"
#include "knockd/shared/daemon_pid_file.h"
#include "knockd/shared/firewall.h"
#include "knockd/shared/logger.h"
#include "knockd/shared/privsep_channel.h"
#include "knockd/shared/privsep_message.h"
#include "knockd/shared/reload_answer.h"
#include "knockd/shared/replay_store.h"
#include "knockd/shared/server_config.h"
#include "knockd/shared/sniffer_launcher.h"

namespace knockd {

/// What the helper runs on besides its configuration file: `knockd run`
/// gives the real sniffer and keeps the rest; unit tests fake them all.
struct HelperSeams {
  /// Starts the sniffer; must outlive the helper.
  knock::SnifferLauncher* launcher = nullptr;
  /// The helper's time; nullptr is the system clock.
  const knock::Clock* clock = nullptr;
  /// Makes the firewall backend; empty makes the configured one.
  std::function<std::unique_ptr<knock::Firewall>(
      const knock::FirewallSettings&)>
      make_firewall;
  /// False in tests: the process keeps its capabilities and dumpability.
  bool drop_privileges = true;
  /// Where the pid file and reload answers go besides state_dir; empty is
  /// knock::DefaultRuntimeDirectory().
  std::string runtime_dir;
};

/// The running daemon, seen from the firewall helper. Start() does
/// everything that needs privilege and can fail; Loop() runs until SIGTERM
/// or SIGINT, or until the sniffer misbehaves or dies.
class Helper {
 public:
  /// `launcher` starts the sniffer and must outlive the helper.
  Helper(std::string config_path, knock::SnifferLauncher* launcher);
  Helper(std::string config_path, HelperSeams seams);
  bool Start(std::string* err);
  int Loop();

  /// One turn of the loop: waits up to `timeout_ms` for the sniffer or a
  /// signal, handles them, runs the timers. For tests; Loop() repeats it.
  void Step(int timeout_ms);
  /// After the loop: stops the sniffer; returns the exit status.
  int Finish();
  bool stopping() const { return stopping_; }
  int exit_status() const { return exit_status_; }
  pid_t sniffer_pid() const { return sniffer_pid_; }

 private:
  /// A reload the sniffer has not answered yet.
  struct PendingReload {
    std::unique_ptr<knock::ServerConfig> config;
    std::unique_ptr<knock::Firewall> firewall;
    std::unique_ptr<knock::SequenceAuthority> authority;
  };

  int64_t Now() const { return clock_->NowMicros(); }
  bool ParseConfig(const std::string& bundle,
                   std::unique_ptr<knock::ServerConfig>* config,
                   std::string* err);
  /// Reads the server key of `config` and derives its sequences, rolled to
  /// now; the key is wiped before this returns. Only the helper runs this,
  /// and only after the sniffer was forked, so no copy of the key or of a
  /// pair key is ever in the sniffer's memory.
  bool DeriveSequences(const knock::ServerConfig& config,
                       std::unique_ptr<knock::SequenceAuthority>* authority,
                       std::string* err);
  /// Everything after the fork; on failure Start kills the sniffer.
  bool StartAfterFork(std::string* err);
  /// Hands the sniffer the port tables of the authority's held windows.
  bool SendTable(std::string* err);
  /// Rolls the windows and sends the new tables when they changed.
  void RollWindows(int64_t now_us);
  /// knockd.toml and its drop-ins as one bundle: what the helper validates
  /// is what the sniffer receives.
  bool ReadConfigBundle(std::string* bundle, std::string* err);
  /// <state_dir>/knockd.pid, for `knockd client add` and `remove`.
  bool WritePidFile(std::string* err);
  /// The metrics file: counted here, written every few seconds and at stop.
  void StartMetrics();
  void CountOutcome(const knock::KnockOutcome& event);
  void WriteMetrics(int64_t now_us);
  bool OpenState(std::string* err);
  /// Refuses a knock range with listeners, then makes and sets up the
  /// configured backend.
  bool SetUpFirewall(const knock::ServerConfig& config,
                     std::unique_ptr<knock::Firewall>* firewall,
                     std::string* err);
  /// Forks the sniffer; the child never returns from here.
  bool ForkSniffer(std::string* err);
  void KillSniffer();
  bool DropPrivileges(std::string* err);
  /// Opens the sealed audit log; without `knockd audit init` it stays off.
  bool OpenAudit(std::string* err);
  /// Queues one record for the next group commit (at once when the batch
  /// is full); a failure is logged, never fatal.
  void Audit(const knock::AuditRecord& record);
  /// Writes the queued records with one seal-state fsync.
  void FlushAudit();

  /// Reads every waiting message; false once the helper must stop.
  bool HandleSniffer();
  bool HandleMessage(const knock::PrivsepMessage& message);
  void OnReady();
  /// False when the grant's evidence shows a lying sniffer (then stopped).
  bool OnGrant(const knock::PrivsepMessage& message);
  /// Refuses what the helper itself refuses, logged and audited.
  void RefuseGrant(knock::KnockOutcome* event, const std::string& why);
  void OnRefusal(const knock::PrivsepMessage& message);
  void OnRefusalSummary(const knock::PrivsepMessage& message);
  /// The sniffer misbehaved or died: log it and stop, failing closed.
  bool Abandon(const std::string& why);

  /// Writes <state_dir>/knockd.reload for whoever asked (knockd reload).
  void AnswerReload(const knock::ReloadRequest& request, bool accepted,
                    const std::string& message);
  void RefuseReload(const std::string& err);
  /// SIGHUP: checks the new configuration and hands it to the sniffer.
  void Reload(const knock::ReloadRequest& request);
  void StartReload();
  /// The sniffer's answer to a reload: commit it or roll back.
  void FinishReload(bool accepted);
  void Notify(const std::string& state);
  void OnTimer();
  /// Watches the nftables table (nftables backend only), before it is set
  /// up so that no change after the setup goes unseen.
  bool WatchRuleset(std::string* err);
  /// Learns the pid the kernel gives this process's own commits (its
  /// first setup of the table), for the ruleset guard.
  bool AdoptOwnRulesetCommit(std::string* err);
  /// Someone else changed the ruleset: put the table back or stop.
  void OnRulesetEvents();
  void HandleSignals(int signal_fd);
  /// Tells the sniffer to stop and waits (bounded) for it to go.
  void StopSniffer();

  std::string config_path_;
  HelperSeams seams_;
  knock::SnifferLauncher* launcher_;
  const knock::Clock* clock_;
  std::unique_ptr<knock::SequenceAuthority> authority_;
  knock::Logger logger_;
  std::unique_ptr<knock::ServerConfig> config_;
  std::unique_ptr<knock::Firewall> firewall_;
  std::unique_ptr<knock::ReplayStore> store_;
  knock::AuditLog audit_;
  knock::AuditGrantTracker audit_grants_;
  std::vector<knock::AuditRecord> audit_batch_;
  knock::PrivsepChannel channel_;
  knock::RulesetMonitor ruleset_monitor_;
  std::unique_ptr<knock::RulesetGuard> ruleset_guard_;
  /// Where this daemon's pid file and reload answers are: the runtime
  /// directory's (when it could be written) and the state directory's.
  std::vector<knock::DaemonFiles> daemon_files_;
  knock::DaemonMetrics metrics_;
  int64_t last_metrics_us_ = 0;
  bool metrics_error_logged_ = false;
  int signal_fd_ = -1;
  pid_t sniffer_pid_ = -1;
  std::unique_ptr<PendingReload> pending_reload_;
  /// Who asked for the reload under way, for its answer, and when it
  /// began to read the configuration.
  knock::ReloadRequest reload_request_;
  int64_t reload_started_ns_ = 0;
  /// A SIGHUP that came during a reload: one more reload follows, which
  /// reads every edit made before it (and so answers its sender too).
  std::optional<knock::ReloadRequest> reload_again_;
  /// The last answers, as the answer files hold them.
  std::vector<knock::ReloadAnswer> answers_;
  bool ready_ = false;
  bool stopping_ = false;
  int exit_status_ = 0;
};

}  // namespace knockd
