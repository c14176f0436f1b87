#pragma once
// knockd's operational log: levels, stderr in a form journald understands,
// and syslog when configured.

#include <string>
#include <string_view>

namespace knock {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

/// Parses "debug", "info", "warning" or "error".
bool ParseLogLevel(std::string_view text, LogLevel* out);

/// Writes one line per message. Under systemd (JOURNAL_STREAM set) each line
/// carries a "<N>" priority prefix that journald turns into a level; on a
/// terminal it reads "knockd: warning: ...".
class Logger {
 public:
  explicit Logger(std::string program = "knockd");
  ~Logger();
  void set_min_level(LogLevel level) { min_level_ = level; }
  void set_syslog(bool enabled);
  /// Opens the syslog socket anew: for a process that just closed every
  /// descriptor it did not list, before it chroots.
  void ReconnectSyslog();
  bool Enabled(LogLevel level) const { return level >= min_level_; }
  void Log(LogLevel level, std::string_view message);

  void Debug(std::string_view message) { Log(LogLevel::kDebug, message); }
  void Info(std::string_view message) { Log(LogLevel::kInfo, message); }
  void Warning(std::string_view message) { Log(LogLevel::kWarning, message); }
  void Error(std::string_view message) { Log(LogLevel::kError, message); }

 private:
  std::string program_;
  LogLevel min_level_ = LogLevel::kInfo;
  bool journal_ = false;
  bool syslog_ = false;
};

}  // namespace knock
