#pragma once
// knockd's operational log: levels, stderr in a form journald understands,
// and syslog when configured.

#include <string>
#include <string_view>
#include <vector>

#include "knockd/shared/journal_entry.h"

namespace knock {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

/// Parses "debug", "info", "warning" or "error".
bool ParseLogLevel(std::string_view text, LogLevel* out);

/// Writes one line per message. Under systemd (JOURNAL_STREAM set) each line
/// carries a "<N>" priority prefix that journald turns into a level; on a
/// terminal it reads "knockd: warning: ...". Where journald runs (its socket
/// exists), every message goes to it natively instead, with its structured
/// fields; stderr then carries it too unless stderr is the journal.
class Logger {
 public:
  explicit Logger(std::string program = "knockd");
  ~Logger();
  void set_min_level(LogLevel level) { min_level_ = level; }
  void set_syslog(bool enabled);
  /// Opens the syslog and journal sockets anew: for a process that just
  /// closed every descriptor it did not list, before it chroots.
  void ReconnectSyslog();
  /// Sends to journald's native socket at `path` from now on; the default
  /// logger uses /run/systemd/journal/socket when it exists. False (and
  /// journald off) when it cannot be reached.
  bool OpenJournal(const std::string& path);
  bool journal_open() const { return journal_fd_ >= 0; }
  /// A message with structured fields (journald fields; syslog structured
  /// data), e.g. a grant with its client, service and source.
  void Event(LogLevel level, std::string_view message,
             const std::vector<LogField>& fields);
  bool Enabled(LogLevel level) const { return level >= min_level_; }
  void Log(LogLevel level, std::string_view message);

  void Debug(std::string_view message) { Log(LogLevel::kDebug, message); }
  void Info(std::string_view message) { Log(LogLevel::kInfo, message); }
  void Warning(std::string_view message) { Log(LogLevel::kWarning, message); }
  void Error(std::string_view message) { Log(LogLevel::kError, message); }

 private:
  void WriteStderr(LogLevel level, std::string_view message);
  bool SendJournal(LogLevel level, std::string_view message,
                   const std::vector<LogField>& fields);

  std::string program_;
  LogLevel min_level_ = LogLevel::kInfo;
  bool journal_ = false;  // stderr is the journal (JOURNAL_STREAM)
  bool syslog_ = false;
  int journal_fd_ = -1;
  std::string journal_path_;
};

}  // namespace knock
