#include "knockd/shared/logger.h"

#include <syslog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace knock {

namespace {

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

int SyslogPriority(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return LOG_DEBUG;
    case LogLevel::kInfo:
      return LOG_INFO;
    case LogLevel::kWarning:
      return LOG_WARNING;
    case LogLevel::kError:
      return LOG_ERR;
  }
  return LOG_INFO;
}

}  // namespace

bool ParseLogLevel(std::string_view text, LogLevel* out) {
  for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning,
                         LogLevel::kError}) {
    if (text == LevelName(level)) {
      *out = level;
      return true;
    }
  }
  return false;
}

Logger::Logger(std::string program)
    : program_(std::move(program)), journal_(getenv("JOURNAL_STREAM")) {}

Logger::~Logger() {
  if (syslog_) closelog();
}

void Logger::set_syslog(bool enabled) {
  // Connected at once (LOG_NDELAY), so that a process about to chroot keeps
  // a working socket to /dev/log.
  if (enabled && !syslog_)
    openlog(program_.c_str(), LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
  if (!enabled && syslog_) closelog();
  syslog_ = enabled;
}

void Logger::ReconnectSyslog() {
  if (!syslog_) return;
  closelog();
  openlog(program_.c_str(), LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
}

void Logger::Log(LogLevel level, std::string_view message) {
  if (!Enabled(level)) return;
  const int length = static_cast<int>(message.size());
  if (journal_) {
    fprintf(stderr, "<%d>%.*s\n", SyslogPriority(level), length,
            message.data());
  } else {
    fprintf(stderr, "%s: %s: %.*s\n", program_.c_str(), LevelName(level),
            length, message.data());
  }
  fflush(stderr);
  if (syslog_)
    syslog(SyslogPriority(level), "%s: %.*s", LevelName(level), length,
           message.data());
}

}  // namespace knock
