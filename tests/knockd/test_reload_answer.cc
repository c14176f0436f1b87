// A reload's answer: the line the helper writes, and ReloadRunningDaemon
// asking a stand-in daemon (a child named "knockd" that answers SIGHUP as
// the helper does) and reporting what it answered, or that it did not.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "knockd/shared/daemon_pid_file.h"
#include "knockd/shared/reload_answer.h"
#include "temp_dir.h"

namespace {

constexpr int kShortTimeoutMs = 1000;

/// A scratch state directory.
struct StateDir : TempDir {
  StateDir() : TempDir("knockd-reload") {}
  void WritePid(pid_t pid) const {
    std::ofstream(knock::DaemonPidFilePath(path())) << pid << "\n";
  }
};

/// A child named "knockd" whose pid is in the pid file; on its first
/// SIGHUP it runs `answer` with the request the signal carried, then
/// exits.
class StandInDaemon {
 public:
  StandInDaemon(const StateDir& dir,
                std::function<void(const knock::ReloadRequest&)> answer)
      : StandInDaemon(knock::DaemonPidFilePath(dir.path()), std::move(answer)) {
  }
  /// The same, with its pid in `pid_path`.
  StandInDaemon(const std::string& pid_path,
                std::function<void(const knock::ReloadRequest&)> answer) {
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    sigset_t saved;
    // Blocked before the fork, so no SIGHUP can kill the child early.
    sigprocmask(SIG_BLOCK, &hup, &saved);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      prctl(PR_SET_NAME, "knockd");
      const int fd = signalfd(-1, &hup, 0);
      signalfd_siginfo info{};
      if (fd < 0 || read(fd, &info, sizeof info) != sizeof info) _exit(3);
      answer({static_cast<pid_t>(info.ssi_pid), info.ssi_int});
      _exit(0);
    }
    sigprocmask(SIG_SETMASK, &saved, nullptr);
    // The name is set in the child; wait until it shows.
    for (int i = 0; i < 200 && !Named(); ++i) usleep(5000);
    std::ofstream(pid_path) << pid_ << "\n";
  }
  ~StandInDaemon() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  /// "knockd pid N", as messages name it.
  std::string Who() const { return "knockd pid " + std::to_string(pid_); }

 private:
  bool Named() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/comm");
    std::string comm;
    return std::getline(in, comm) && comm == "knockd";
  }
  pid_t pid_ = -1;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

TEST_CASE("a reload answer is one line that parses back") {
  const knock::ReloadAnswer answer{
      {1234, 56789}, false, "reload refused: user (\"a\" -> \"b\")\nx"};
  const std::string line = knock::EncodeReloadAnswer(answer);
  CHECK(line ==
        "1234 56789 0 refused reload refused: user (\"a\" -> \"b\") x\n");
  knock::ReloadAnswer parsed;
  REQUIRE(knock::ParseReloadAnswer(line, &parsed));
  CHECK(parsed.request == answer.request);
  CHECK_FALSE(parsed.accepted);
  CHECK(parsed.message == "reload refused: user (\"a\" -> \"b\") x");
  REQUIRE(knock::ParseReloadAnswer("7 0 accepted reloaded f: 2 clients\n",
                                   &parsed));
  CHECK(parsed.accepted);
  CHECK(parsed.message == "reloaded f: 2 clients");
  CHECK(parsed.started_ns == 0);  // an older knockd's line
  REQUIRE(knock::ParseReloadAnswer("7 0 99 refused r\n", &parsed));
  CHECK(parsed.started_ns == 99);
  CHECK_FALSE(parsed.accepted);
  for (const char* bad :
       {"", "7 0 accepted half a line", "7 x accepted m\n", "7 0 maybe m\n",
        "7\n", "7 0 99 maybe m\n", "7 0 -5 accepted m\n", "7 0 99\n"}) {
    CAPTURE(bad);
    CHECK_FALSE(knock::ParseReloadAnswer(bad, &parsed));
  }
}

TEST_CASE("reload reports the daemon's acceptance and its refusal") {
  StateDir dir;
  std::string message;
  SECTION("accepted") {
    StandInDaemon daemon(dir, [&](const knock::ReloadRequest& request) {
      std::string err;
      knock::WriteReloadAnswer(dir.path(),
                               {request, true, "reloaded f: 3 clients"}, &err);
      pause();
    });
    CHECK(knock::ReloadRunningDaemon(dir.path(), kShortTimeoutMs, &message) ==
          knock::ReloadOutcome::kReloaded);
    CHECK(message == daemon.Who() + ": reloaded f: 3 clients");
  }
  SECTION("refused") {
    StandInDaemon daemon(dir, [&](const knock::ReloadRequest& request) {
      std::string err;
      knock::WriteReloadAnswer(
          dir.path(), {request, false, "reload refused: user takes effect"},
          &err);
      pause();
    });
    CHECK(knock::ReloadRunningDaemon(dir.path(), kShortTimeoutMs, &message) ==
          knock::ReloadOutcome::kFailed);
    CHECK(message == daemon.Who() + ": reload refused: user takes effect");
  }
}

TEST_CASE("reload takes only the answer to its own request") {
  StateDir dir;
  std::string message;
  // The answer to someone else's request (a plain kill: token 0), then
  // silence: a reload that took any answer would report "reloaded".
  StandInDaemon daemon(dir, [&](const knock::ReloadRequest& request) {
    std::string err;
    knock::WriteReloadAnswer(
        dir.path(), {{request.sender, 0}, true, "reloaded other"}, &err);
    pause();
  });
  CHECK(knock::ReloadRunningDaemon(dir.path(), kShortTimeoutMs, &message) ==
        knock::ReloadOutcome::kFailed);
  CHECK(message ==
        daemon.Who() + " did not answer the reload within 1 s (see its log)");
  // Control: that answer was there, and would have been read as accepted.
  knock::ReloadAnswer answer;
  REQUIRE(knock::ReadReloadAnswer(dir.path(), &answer));
  CHECK(answer.accepted);
  CHECK(answer.request.sender == getpid());
}

TEST_CASE("reload reports a daemon that stops instead of answering") {
  StateDir dir;
  std::string message;
  // Reaped at once, as a daemon that is not this test's child would be.
  signal(SIGCHLD, SIG_IGN);
  std::string who;
  {
    StandInDaemon daemon(dir, [](const knock::ReloadRequest&) {});
    who = daemon.Who();
    CHECK(knock::ReloadRunningDaemon(dir.path(), kShortTimeoutMs, &message) ==
          knock::ReloadOutcome::kFailed);
  }
  signal(SIGCHLD, SIG_DFL);
  CHECK(message ==
        who + " stopped before it answered the reload (see its log)");
}

TEST_CASE(
    "reload finds the daemon by its configuration after state_dir was "
    "edited") {
  StateDir run, old_state, new_state;
  const std::string config = "/etc/knockd/knockd.toml";
  const knock::DaemonFiles runtime =
      knock::RuntimeDaemonFiles(run.path(), config);
  CHECK(runtime.pid == run.path() + "/etc-knockd-knockd.toml.pid");
  CHECK(runtime.answer == run.path() + "/etc-knockd-knockd.toml.reload");
  // The daemon started with state_dir = old_state; the file on disk now
  // says new_state.
  StandInDaemon daemon(runtime.pid, [&](const knock::ReloadRequest& request) {
    std::string err;
    for (const knock::DaemonFiles& files :
         {runtime, knock::StateDirDaemonFiles(old_state.path())})
      knock::WriteReloadAnswerFile(
          files.answer, {request, false, "state_dir takes effect"}, &err);
    pause();
  });
  std::string message;
  CHECK(knock::ReloadRunningDaemon(
            {runtime, knock::StateDirDaemonFiles(new_state.path())},
            kShortTimeoutMs, &message) == knock::ReloadOutcome::kFailed);
  CHECK(message == daemon.Who() + ": state_dir takes effect");
  // Control: through the edited state_dir alone it is not found.
  CHECK(knock::ReloadRunningDaemon(
            {knock::StateDirDaemonFiles(new_state.path())}, kShortTimeoutMs,
            &message) == knock::ReloadOutcome::kNotRunning);
  CHECK(message ==
        "knockd is not running (no " + new_state.path() + "/knockd.pid)");
}

TEST_CASE("the runtime name is the configuration's path as named") {
  // A configuration that is a link, switched to each release: the daemon
  // started through the link and the reload of the next release must meet.
  StateDir run, etc;
  std::ofstream(etc.path() + "/release-1.toml") << "";
  std::ofstream(etc.path() + "/release-2.toml") << "";
  const std::string link = etc.path() + "/knockd.toml";
  REQUIRE(symlink("release-1.toml", link.c_str()) == 0);
  const knock::DaemonFiles at_start =
      knock::RuntimeDaemonFiles(run.path(), link);
  REQUIRE(unlink(link.c_str()) == 0);
  REQUIRE(symlink("release-2.toml", link.c_str()) == 0);
  CHECK(knock::RuntimeDaemonFiles(run.path(), link).pid == at_start.pid);
  // Spelled another way, the same path is the same name.
  CHECK(knock::RuntimeDaemonFiles(run.path(), etc.path() + "/./knockd.toml")
            .pid == at_start.pid);
}

TEST_CASE("reload names every place it looked for the daemon") {
  StateDir run, state;
  const std::vector<knock::DaemonFiles> places = {
      knock::RuntimeDaemonFiles(run.path(), "/etc/knockd/knockd.toml"),
      knock::StateDirDaemonFiles(state.path())};
  std::string message;
  CHECK(knock::ReloadRunningDaemon(places, kShortTimeoutMs, &message) ==
        knock::ReloadOutcome::kNotRunning);
  CHECK(message == "knockd is not running (no " + run.path() +
                       "/etc-knockd-knockd.toml.pid nor " + state.path() +
                       "/knockd.pid)");
}

TEST_CASE(
    "reload does not signal a daemon that runs another configuration from "
    "the same state_dir") {
  StateDir state;
  const knock::DaemonFiles in_state = knock::StateDirDaemonFiles(state.path());
  const auto answer = [&](const knock::ReloadRequest& request) {
    std::string err;
    knock::WriteReloadAnswerFile(
        in_state.answer, {request, true, "reloaded /etc/knockd/a.toml"}, &err);
    pause();
  };
  // What the helper writes: its pid, then the configuration it runs.
  {
    StandInDaemon daemon(in_state.pid, answer);
    const std::string pid = ReadFirstLine(in_state.pid);
    std::ofstream(in_state.pid) << pid << "\nconfig /etc/knockd/a.toml\n";
    knock::DaemonFiles asked = in_state;
    asked.config = knock::NormalConfigPath("/etc/knockd/./b.toml");
    std::string message;
    CHECK(knock::ReloadRunningDaemon({asked}, kShortTimeoutMs, &message) ==
          knock::ReloadOutcome::kFailed);
    CHECK(message == daemon.Who() + " (from " + in_state.pid +
                         ") runs /etc/knockd/a.toml, not /etc/knockd/b.toml: "
                         "nothing was signalled; reload it with -c "
                         "/etc/knockd/a.toml");
    // Another spelling of the same file (a linked directory) is the same
    // configuration.
    const std::string etc = state.path() + "/etc", linked = state.path() + "/l";
    REQUIRE(mkdir(etc.c_str(), 0700) == 0);
    std::ofstream(etc + "/a.toml") << "";
    REQUIRE(symlink(etc.c_str(), linked.c_str()) == 0);
    std::ofstream(in_state.pid) << pid << "\nconfig " << etc << "/a.toml\n";
    asked.config = linked + "/a.toml";
    CHECK(knock::ReloadRunningDaemon({asked}, kShortTimeoutMs, &message) ==
          knock::ReloadOutcome::kReloaded);
  }
  {
    StandInDaemon daemon(in_state.pid, answer);
    const std::string pid = ReadFirstLine(in_state.pid);
    std::ofstream(in_state.pid) << pid << "\nconfig /etc/knockd/a.toml\n";
    knock::DaemonFiles asked = in_state;
    std::string message;
    // Control: asked through its own configuration, it reloads.
    asked.config = "/etc/knockd/a.toml";
    CHECK(knock::ReloadRunningDaemon({asked}, kShortTimeoutMs, &message) ==
          knock::ReloadOutcome::kReloaded);
  }
  // An older knockd's pid file names no configuration: it is asked.
  StandInDaemon older(in_state.pid, answer);
  knock::DaemonFiles asked = in_state;
  asked.config = "/etc/knockd/b.toml";
  std::string message;
  CHECK(knock::ReloadRunningDaemon({asked}, kShortTimeoutMs, &message) ==
        knock::ReloadOutcome::kReloaded);
}

TEST_CASE("the helper's pid file names the configuration it runs") {
  StateDir state;
  const knock::DaemonFiles files = knock::StateDirDaemonFiles(state.path());
  std::string err;
  REQUIRE(
      knock::WriteDaemonPidFile(files, "/etc/knockd/../knockd/k.toml", &err));
  CHECK(ReadFile(files.pid) ==
        std::to_string(getpid()) + "\nconfig /etc/knockd/k.toml\n");
  REQUIRE(knock::WriteDaemonPidFile(files, "", &err));
  CHECK(ReadFile(files.pid) == std::to_string(getpid()) + "\n");
}

TEST_CASE("the runtime directory is systemd's when it names one") {
  const char* saved = getenv("RUNTIME_DIRECTORY");
  const std::string kept = saved ? saved : "";
  unsetenv("RUNTIME_DIRECTORY");
  CHECK(knock::DefaultRuntimeDirectory() == "/run/knockd");
  setenv("RUNTIME_DIRECTORY", "/run/elsewhere:/run/other", 1);
  CHECK(knock::DefaultRuntimeDirectory() == "/run/elsewhere");
  if (saved)
    setenv("RUNTIME_DIRECTORY", kept.c_str(), 1);
  else
    unsetenv("RUNTIME_DIRECTORY");
}

TEST_CASE("an answer is a request's own, or that of a reload begun after it") {
  const std::vector<knock::ReloadAnswer> answers = {
      {{10, 1}, true, "first", 100},
      {{11, 2}, false, "second", 200},
      {{12, 3}, true, "third", 300}};
  // Its own, wherever it is.
  CHECK(knock::FindReloadAnswer(answers, {12, 3}, 250) == &answers[2]);
  // Else the oldest that began after the request was sent.
  CHECK(knock::FindReloadAnswer(answers, {13, 4}, 150) == &answers[1]);
  // Nothing that began before it answers it.
  CHECK(knock::FindReloadAnswer(answers, {13, 4}, 300) == nullptr);
  // The file keeps the last answers, oldest first.
  StateDir dir;
  std::vector<knock::ReloadAnswer> many;
  for (int i = 0; i < 20; ++i) many.push_back({{1, i}, true, "m", i});
  std::string err;
  REQUIRE(knock::WriteReloadAnswersFile(dir.path() + "/a", many, &err));
  std::vector<knock::ReloadAnswer> read;
  REQUIRE(knock::ReadReloadAnswersFile(dir.path() + "/a", &read));
  REQUIRE(read.size() == knock::kReloadAnswersKept);
  CHECK(read.front().request.token == 4);
  CHECK(read.back().request.token == 19);
}

TEST_CASE("answers with long refusals all stay readable") {
  // A refusal that lists every listening socket can be any length; the
  // reader reads 64 KiB. Sixteen such answers must still all be read.
  StateDir dir;
  const std::string long_message(100000, 'x');
  std::vector<knock::ReloadAnswer> many;
  for (int i = 0; i < 16; ++i) many.push_back({{1, i}, false, long_message, i});
  std::string err;
  REQUIRE(knock::WriteReloadAnswersFile(dir.path() + "/a", many, &err));
  std::vector<knock::ReloadAnswer> read;
  REQUIRE(knock::ReadReloadAnswersFile(dir.path() + "/a", &read));
  REQUIRE(read.size() == 16);
  CHECK(read.back().message == std::string(2994, 'x') + " [...]");
  // A short message is kept whole.
  many.back().message = "refused: x";
  REQUIRE(knock::WriteReloadAnswersFile(dir.path() + "/a", many, &err));
  REQUIRE(knock::ReadReloadAnswersFile(dir.path() + "/a", &read));
  CHECK(read.back().message == "refused: x");
}

TEST_CASE("two reloads at once each get a true answer") {
  StateDir dir;
  // Whether the answer says when its reload began: a daemon that does not
  // (token only, as before) leaves the second asker waiting (control).
  const bool says_when = GENERATE(true, false);
  INFO((says_when ? "answer with its start" : "token only (control)"));
  // The stand-in takes the first SIGHUP, lets the second asker signal too
  // (merged with a pending one, or come during the reload: either way it
  // gets no answer of its own), then reloads once, answering the first.
  StandInDaemon daemon(dir, [&](const knock::ReloadRequest& request) {
    usleep(300 * 1000);
    const int64_t started_ns = says_when ? knock::ReloadClockNanos() : 0;
    std::string err;
    knock::WriteReloadAnswer(
        dir.path(), {request, true, "reloaded f: 3 clients", started_ns}, &err);
    pause();
  });
  knock::ReloadOutcome outcomes[2];
  std::string messages[2];
  std::thread askers[2];
  for (int i = 0; i < 2; ++i)
    askers[i] = std::thread([&, i] {
      outcomes[i] =
          knock::ReloadRunningDaemon(dir.path(), kShortTimeoutMs, &messages[i]);
    });
  for (std::thread& asker : askers) asker.join();
  const std::string own = daemon.Who() + ": reloaded f: 3 clients";
  const std::string covered = own + " (a reload that began after this request)";
  // One asker's signal reached the stand-in first: that one has its own.
  CHECK(((messages[0] == own) != (messages[1] == own)));
  for (int i = 0; i < 2; ++i) {
    INFO(messages[i]);
    if (messages[i] == own) {
      CHECK(outcomes[i] == knock::ReloadOutcome::kReloaded);
    } else if (says_when) {
      CHECK(outcomes[i] == knock::ReloadOutcome::kReloaded);
      CHECK(messages[i] == covered);
    } else {
      CHECK(outcomes[i] == knock::ReloadOutcome::kFailed);
      CHECK(messages[i] == daemon.Who() +
                               " did not answer the reload within 1 s (see "
                               "its log)");
    }
  }
}
