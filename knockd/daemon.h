#pragma once
// `knockd run`: the live daemon around the knock pipeline — capture,
// firewall setup, signals, reloads and the timer.

#include <memory>
#include <string>

#include "common/audit_grant_tracker.h"
#include "common/audit_log.h"
#include "common/firewall.h"
#include "common/knock_pipeline.h"
#include "common/logger.h"
#include "common/packet_source.h"
#include "common/replay_store.h"
#include "common/server_config.h"

namespace knockd {

/// The running daemon. Start() does everything that needs privilege and
/// can fail; Loop() runs until SIGTERM or SIGINT.
class Daemon {
 public:
  explicit Daemon(std::string config_path);
  bool Start(std::string* err);
  int Loop();

 private:
  bool LoadConfig(std::unique_ptr<knock::ServerConfig>* config,
                  knock::PrivateKey* key, std::string* err);
  bool OpenState(std::string* err);
  /// Refuses a knock range with listeners, then makes and sets up the
  /// configured backend.
  bool SetUpFirewall(const knock::ServerConfig& config,
                     std::unique_ptr<knock::Firewall>* firewall,
                     std::string* err);
  bool DropPrivileges(std::string* err);
  /// Opens the sealed audit log; without `knockd audit init` it stays off.
  bool OpenAudit(std::string* err);
  /// Appends one record; a failure is logged, never fatal.
  void Audit(const knock::AuditRecord& record);
  void OnPipelineEvent(const knock::PipelineEvent& event);
  void RefuseReload(const std::string& err);
  /// SIGHUP: a new configuration atomically, or the old one kept.
  void Reload();
  void ReloadConfig();
  void Notify(const std::string& state);
  void PollOnce(int signal_fd);
  bool HandleSignals(int signal_fd);

  std::string config_path_;
  knock::Logger logger_;
  std::unique_ptr<knock::ServerConfig> config_;
  knock::PrivateKey server_key_;
  std::unique_ptr<knock::Firewall> firewall_;
  std::unique_ptr<knock::ReplayStore> store_;
  std::unique_ptr<knock::PacketSource> source_;
  std::unique_ptr<knock::KnockPipeline> pipeline_;
  knock::AuditLog audit_;
  knock::AuditGrantTracker audit_grants_;
  bool stopping_ = false;
};

}  // namespace knockd
