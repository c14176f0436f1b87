#pragma once
// The running knockd's answer to a reload, so that whoever asked
// (`knockd reload` as systemd's ExecReload, `knockd client add` and
// `remove`) can fail visibly on a refused reload instead of leaving it to
// the journal. The asker queues SIGHUP with a random token (sigqueue); the
// helper reads sender and token from its signalfd and writes one line to
// <state_dir>/knockd.reload; the asker waits for its own pid and token.

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace knock {

/// Who asked for a reload: the SIGHUP's sender and the value queued with
/// it (0 for a plain kill).
struct ReloadRequest {
  pid_t sender = 0;
  int32_t token = 0;
  bool operator==(const ReloadRequest& other) const = default;
};

/// The helper's answer to one reload request.
struct ReloadAnswer {
  ReloadRequest request;
  bool accepted = false;
  /// "reloaded FILE: N clients", or why the reload was refused.
  std::string message;
};

/// "<state_dir>/knockd.reload".
std::string ReloadAnswerPath(const std::string& state_dir);

/// One line: "SENDER TOKEN accepted|refused MESSAGE".
std::string EncodeReloadAnswer(const ReloadAnswer& answer);
bool ParseReloadAnswer(const std::string& text, ReloadAnswer* answer);

/// Replaces the answer file (0644, atomic rename).
bool WriteReloadAnswer(const std::string& state_dir, const ReloadAnswer& answer,
                       std::string* err);
/// False when there is no answer file or it does not parse.
bool ReadReloadAnswer(const std::string& state_dir, ReloadAnswer* answer);
/// The same two, by the answer file's own path.
bool WriteReloadAnswerFile(const std::string& path, const ReloadAnswer& answer,
                           std::string* err);
bool ReadReloadAnswerFile(const std::string& path, ReloadAnswer* answer);

}  // namespace knock
