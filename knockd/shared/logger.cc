#include "knockd/shared/logger.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

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

constexpr char kJournalSocket[] = "/run/systemd/journal/socket";

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
    : program_(std::move(program)), journal_(getenv("JOURNAL_STREAM")) {
  if (access(kJournalSocket, W_OK) == 0) OpenJournal(kJournalSocket);
}

Logger::~Logger() {
  if (syslog_) closelog();
  if (journal_fd_ >= 0) close(journal_fd_);
}

bool Logger::OpenJournal(const std::string& path) {
  if (journal_fd_ >= 0) close(journal_fd_);
  journal_fd_ = -1;
  journal_path_ = path;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return false;
  memcpy(address.sun_path, path.data(), path.size());
  // Connected now, so that a process about to chroot keeps a working socket.
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address),
              sizeof address) != 0) {
    close(fd);
    return false;
  }
  journal_fd_ = fd;
  return true;
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
  // The descriptor was closed with the others; a new one is connected.
  if (!journal_path_.empty()) OpenJournal(journal_path_);
  if (!syslog_) return;
  closelog();
  openlog(program_.c_str(), LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
}

void Logger::Log(LogLevel level, std::string_view message) {
  Event(level, message, {});
}

void Logger::Event(LogLevel level, std::string_view message,
                   const std::vector<LogField>& fields) {
  if (!Enabled(level)) return;
  const bool journaled = SendJournal(level, message, fields);
  // With JOURNAL_STREAM, stderr is the journal: once is enough.
  if (!journaled || !journal_) WriteStderr(level, message);
  if (!syslog_) return;
  const int length = static_cast<int>(message.size());
  if (fields.empty()) {
    syslog(SyslogPriority(level), "%s: %.*s", LevelName(level), length,
           message.data());
  } else {
    syslog(SyslogPriority(level), "%s %s: %.*s",
           FormatStructuredData(fields).c_str(), LevelName(level), length,
           message.data());
  }
}

void Logger::WriteStderr(LogLevel level, std::string_view message) {
  const int length = static_cast<int>(message.size());
  if (journal_) {
    fprintf(stderr, "<%d>%.*s\n", SyslogPriority(level), length,
            message.data());
  } else {
    fprintf(stderr, "%s: %s: %.*s\n", program_.c_str(), LevelName(level),
            length, message.data());
  }
  fflush(stderr);
}

bool Logger::SendJournal(LogLevel level, std::string_view message,
                         const std::vector<LogField>& fields) {
  if (journal_fd_ < 0) return false;
  std::vector<LogField> entry = {
      {"MESSAGE", std::string(message)},
      {"PRIORITY", std::to_string(SyslogPriority(level))},
      {"SYSLOG_IDENTIFIER", program_},
  };
  entry.insert(entry.end(), fields.begin(), fields.end());
  const std::string datagram = EncodeJournalEntry(entry);
  // journald gone or the entry too large: stderr still has it.
  return send(journal_fd_, datagram.data(), datagram.size(), MSG_NOSIGNAL) ==
         static_cast<ssize_t>(datagram.size());
}

}  // namespace knock
