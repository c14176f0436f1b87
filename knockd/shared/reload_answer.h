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
#include <vector>

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
  /// When the reload began to read the configuration (ReloadClockNanos);
  /// 0 from a knockd that did not say. An answer that began after a
  /// request was sent read every edit made before it: it covers that
  /// request too, whoever asked.
  int64_t started_ns = 0;
};

/// How many answers the file keeps, newest last: one asker's answer is not
/// overwritten by the next one's before it was read.
inline constexpr size_t kReloadAnswersKept = 16;

/// CLOCK_MONOTONIC in nanoseconds: one clock for every process of the host.
int64_t ReloadClockNanos();

/// "<state_dir>/knockd.reload".
std::string ReloadAnswerPath(const std::string& state_dir);

/// One line: "SENDER TOKEN STARTED_NS accepted|refused MESSAGE" (older
/// knockd wrote no STARTED_NS; such a line parses with 0).
std::string EncodeReloadAnswer(const ReloadAnswer& answer);
bool ParseReloadAnswer(const std::string& text, ReloadAnswer* answer);
/// Every line of an answer file, oldest first; false if any is broken.
bool ParseReloadAnswers(const std::string& text,
                        std::vector<ReloadAnswer>* answers);

/// The answer for `request` among `answers`: its own, else the oldest one
/// that began after `requested_ns` (it covers the request: two SIGHUPs
/// pending at once are one to the kernel, and a SIGHUP during a reload is
/// served by the next one). Null when neither is there yet.
const ReloadAnswer* FindReloadAnswer(const std::vector<ReloadAnswer>& answers,
                                     const ReloadRequest& request,
                                     int64_t requested_ns);

/// Replaces the answer file (0644, atomic rename).
bool WriteReloadAnswer(const std::string& state_dir, const ReloadAnswer& answer,
                       std::string* err);
/// False when there is no answer file or it does not parse.
bool ReadReloadAnswer(const std::string& state_dir, ReloadAnswer* answer);
/// The same two, by the answer file's own path.
bool WriteReloadAnswerFile(const std::string& path, const ReloadAnswer& answer,
                           std::string* err);
bool ReadReloadAnswerFile(const std::string& path, ReloadAnswer* answer);
/// The helper's: replaces the file with the last kReloadAnswersKept.
bool WriteReloadAnswersFile(const std::string& path,
                            const std::vector<ReloadAnswer>& answers,
                            std::string* err);
/// Every answer in the file, oldest first.
bool ReadReloadAnswersFile(const std::string& path,
                           std::vector<ReloadAnswer>* answers);

}  // namespace knock
