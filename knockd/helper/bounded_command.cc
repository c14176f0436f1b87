#include "knockd/helper/bounded_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/clock.h"
#include "common/unique_fd.h"

namespace knock {

namespace {

// Enough for the first line of a diagnostic; the rest is drained unread.
constexpr size_t kMaxOutputBytes = 4096;
// Without a pidfd, how often to look whether the child has exited.
constexpr int kPollSliceMs = 10;

// Runs in the forked child: only async-signal-safe calls until execv.
[[noreturn]] void ExecChild(char* const* argv, int output_fd, int error_fd) {
  setpgid(0, 0);
  // The daemon may block signals (signalfd) or ignore SIGPIPE; both would
  // survive execv and confuse the command.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int signal_number = 1; signal_number < NSIG; ++signal_number) {
    sigaction(signal_number, &default_action, nullptr);
  }
  int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
  dup2(output_fd, STDOUT_FILENO);
  dup2(output_fd, STDERR_FILENO);
  // Capture sockets, nftables netlink sockets, the audit log: none of the
  // daemon's descriptors belong to the command.
  close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  execv(argv[0], argv);
  int code = errno;
  ssize_t ignored = write(error_fd, &code, sizeof code);
  (void)ignored;
  _exit(127);
}

std::string FirstLine(const std::string& output) {
  std::string line = output.substr(0, output.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
    line.pop_back();
  }
  return line;
}

std::string DescribeStatus(const std::string& name, int status,
                           const std::string& output) {
  if (WIFSIGNALED(status)) {
    return name + " was killed by signal " + std::to_string(WTERMSIG(status));
  }
  std::string text =
      name + " exited with status " + std::to_string(WEXITSTATUS(status));
  const std::string line = FirstLine(output);
  if (!line.empty()) text += ": " + line;
  return text;
}

void ReadSome(int fd, std::string* output, bool* eof) {
  char buffer[1024];
  ssize_t n = read(fd, buffer, sizeof buffer);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    *eof = true;
    return;
  }
  if (n > 0 && output->size() < kMaxOutputBytes) {
    output->append(buffer,
                   std::min<size_t>(n, kMaxOutputBytes - output->size()));
  }
}

bool MakePipe(int flags, UniqueFd* read_end, UniqueFd* write_end) {
  int ends[2];
  if (pipe2(ends, flags) != 0) return false;
  read_end->Reset(ends[0]);
  write_end->Reset(ends[1]);
  return true;
}

// Waits for `pid` until `timeout_ms` passes, collecting its output. True
// with *status set when it exited; false when the time ran out.
bool WaitBounded(pid_t pid, int output_fd, int64_t timeout_ms, int* status,
                 std::string* output) {
  const int64_t deadline_ms = knock::MonotonicMillis() + timeout_ms;
  // Through syscall(): glibc 2.36's <sys/pidfd.h> lacks extern "C".
  UniqueFd pid_fd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  bool output_eof = false;
  bool exited = false;
  while (!exited) {
    if (waitpid(pid, status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    const int64_t left_ms = deadline_ms - knock::MonotonicMillis();
    if (left_ms <= 0) break;
    pollfd fds[2] = {{output_eof ? -1 : output_fd, POLLIN, 0},
                     {pid_fd.get(), POLLIN, 0}};
    const int wait_ms = static_cast<int>(
        pid_fd.valid() ? left_ms : std::min<int64_t>(left_ms, kPollSliceMs));
    if (poll(fds, 2, wait_ms) > 0 && fds[0].revents != 0) {
      ReadSome(output_fd, output, &output_eof);
    }
  }
  pid_fd.Reset();
  // A background grandchild may hold the pipe open; take what is there now.
  while (exited && !output_eof) {
    size_t before = output->size();
    ReadSome(output_fd, output, &output_eof);
    if (output->size() == before && !output_eof) break;
  }
  return exited;
}

}  // namespace

bool RunBoundedCommand(const std::vector<std::string>& argv, int64_t timeout_ms,
                       std::string* err) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/') {
    *err = "command \"" + (argv.empty() ? std::string() : argv[0]) +
           "\" is not an absolute path";
    return false;
  }
  const std::string name = "\"" + argv[0] + "\"";
  // Built before fork: the child may only make async-signal-safe calls.
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  UniqueFd output_read, output_write, error_read, error_write;
  if (!MakePipe(O_CLOEXEC | O_NONBLOCK, &output_read, &output_write) ||
      !MakePipe(O_CLOEXEC, &error_read, &error_write)) {
    *err = "cannot run " + name + ": pipe: " + std::strerror(errno);
    return false;
  }
  const pid_t pid = fork();
  if (pid == 0) ExecChild(args.data(), output_write.get(), error_write.get());
  output_write.Reset();
  error_write.Reset();
  if (pid < 0) {
    *err = "cannot run " + name + ": fork: " + std::strerror(errno);
    return false;
  }
  // Also from here, so that a kill of the group can never miss the child.
  setpgid(pid, pid);

  // execv closes this pipe on success; on failure the child sends errno.
  int exec_errno = 0;
  ssize_t n;
  do {
    n = read(error_read.get(), &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  error_read.Reset();
  int status = 0;
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    waitpid(pid, &status, 0);
    *err = "cannot run " + name + ": " + std::strerror(exec_errno);
    return false;
  }

  std::string output;
  const bool exited =
      WaitBounded(pid, output_read.get(), timeout_ms, &status, &output);
  output_read.Reset();
  if (!exited) {
    kill(-pid, SIGKILL);
    waitpid(pid, &status, 0);
    *err = name + " did not finish within " + std::to_string(timeout_ms) +
           "ms; killed it";
    return false;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  *err = DescribeStatus(name, status, output);
  return false;
}

}  // namespace knock
