#pragma once
// `knockd run`: sets everything up with root's power, then splits in two
// (docs/ARCHITECTURE.md, "Privilege separation"). This process becomes the
// firewall helper: it keeps only CAP_NET_ADMIN, enforces the grants the
// sniffer asks for after checking them, keeps the used set and writes the
// audit log. The sniffer it forks (through a SnifferLauncher) parses the
// packets.

#include <sys/types.h>

#include <memory>
#include <string>

#include "knockd/audit/audit_grant_tracker.h"
#include "knockd/audit/audit_log.h"
#include "knockd/helper/make_firewall.h"
#include "knockd/helper/metrics_file.h"
#include "knockd/shared/firewall.h"
#include "knockd/shared/logger.h"
#include "knockd/shared/privsep_channel.h"
#include "knockd/shared/privsep_message.h"
#include "knockd/shared/replay_store.h"
#include "knockd/shared/server_config.h"
#include "knockd/shared/sniffer_launcher.h"

namespace knockd {

/// The running daemon, seen from the firewall helper. Start() does
/// everything that needs privilege and can fail; Loop() runs until SIGTERM
/// or SIGINT, or until the sniffer misbehaves or dies.
class Helper {
 public:
  /// `launcher` starts the sniffer and must outlive the helper.
  Helper(std::string config_path, knock::SnifferLauncher* launcher);
  bool Start(std::string* err);
  int Loop();

 private:
  /// A reload the sniffer has not answered yet.
  struct PendingReload {
    std::unique_ptr<knock::ServerConfig> config;
    std::unique_ptr<knock::Firewall> firewall;
  };

  /// knockd.toml and its drop-ins as one bundle: what the helper validates
  /// is what the sniffer receives.
  bool ReadConfigBundle(std::string* bundle, std::string* err);
  /// <state_dir>/knockd.pid, for `knockd client add` and `remove`.
  bool WritePidFile(std::string* err);
  /// The metrics file: counted here, written every few seconds and at stop.
  void StartMetrics();
  void CountOutcome(const knock::KnockOutcome& event);
  void WriteMetrics(int64_t now_us);
  bool LoadConfig(const std::string& bundle,
                  std::unique_ptr<knock::ServerConfig>* config,
                  knock::PrivateKey* key, std::string* err);
  bool OpenState(std::string* err);
  /// Refuses a knock range with listeners, then makes and sets up the
  /// configured backend.
  bool SetUpFirewall(const knock::ServerConfig& config,
                     std::unique_ptr<knock::Firewall>* firewall,
                     std::string* err);
  /// Forks the sniffer; the child never returns from here.
  bool ForkSniffer(knock::PrivateKey server_key, std::string* err);
  bool DropPrivileges(std::string* err);
  /// Opens the sealed audit log; without `knockd audit init` it stays off.
  bool OpenAudit(std::string* err);
  /// Appends one record; a failure is logged, never fatal.
  void Audit(const knock::AuditRecord& record);

  /// Reads every waiting message; false once the helper must stop.
  bool HandleSniffer();
  bool HandleMessage(const knock::PrivsepMessage& message);
  void OnReady();
  void OnGrant(const knock::PrivsepMessage& message);
  void OnRefusal(const knock::PrivsepMessage& message);
  /// The sniffer misbehaved or died: log it and stop, failing closed.
  bool Abandon(const std::string& why);

  void RefuseReload(const std::string& err);
  /// SIGHUP: checks the new configuration and hands it to the sniffer.
  void Reload();
  void StartReload();
  /// The sniffer's answer to a reload: commit it or roll back.
  void FinishReload(bool accepted);
  void Notify(const std::string& state);
  void OnTimer();
  void PollOnce(int signal_fd);
  void HandleSignals(int signal_fd);
  /// Tells the sniffer to stop and waits (bounded) for it to go.
  void StopSniffer();

  std::string config_path_;
  knock::SnifferLauncher* launcher_;
  knock::Logger logger_;
  std::unique_ptr<knock::ServerConfig> config_;
  std::unique_ptr<knock::Firewall> firewall_;
  std::unique_ptr<knock::ReplayStore> store_;
  knock::AuditLog audit_;
  knock::AuditGrantTracker audit_grants_;
  knock::PrivsepChannel channel_;
  std::string pid_file_dir_;
  knock::DaemonMetrics metrics_;
  int64_t last_metrics_us_ = 0;
  bool metrics_error_logged_ = false;
  int signal_fd_ = -1;
  pid_t sniffer_pid_ = -1;
  std::unique_ptr<PendingReload> pending_reload_;
  bool ready_ = false;
  bool stopping_ = false;
  int exit_status_ = 0;
};

}  // namespace knockd
