// The client's record of sent sequences: lowest free slot, never twice,
// pruning, locking between processes.
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "knock/lib/client_state.h"
#include "temp_dir.h"

namespace {

constexpr char kServerKey[] = "NYBy1jZYgNGu6jKa35EhODhR7SGijjt16WXQ0s0WYlQ=";
constexpr char kOtherKey[] = "V9tLNZ8jrl4Ubk4lEgVnBHIlBjSMFQwUdT0Mkz0E1CE=";
constexpr int64_t kStepSeconds = 30;
constexpr uint64_t kWindow = 58000000;
// 18 s into kWindow: 12 s left.
constexpr int64_t kNowUnix = kWindow * kStepSeconds + 18;

knock::SlotScope Scope(const char* key = kServerKey, uint64_t window = kWindow,
                       const char* service = "ssh") {
  knock::SlotScope scope;
  std::string err;
  REQUIRE(knock::ParsePublicKey(key, &scope.server_key, &err));
  scope.service = service;
  scope.step_seconds = kStepSeconds;
  scope.window = window;
  scope.label = std::string("bastion/") + service;
  return scope;
}

int Reserve(const std::string& path, const knock::SlotScope& scope,
            int slots = 4, int64_t now = kNowUnix) {
  int slot = -1;
  std::string err;
  REQUIRE(knock::ReserveFreeSlot(path, scope, slots, now, &slot, &err));
  return slot;
}

int DataLines(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  int count = 0;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#') ++count;
  return count;
}

}  // namespace

TEST_CASE("slots are handed out lowest first until all are used",
          "[client_state]") {
  TempDir dir("knock-state-test");
  const std::string path = dir.path() + "/state/knock/used";
  for (int expected = 0; expected < 4; ++expected)
    CHECK(Reserve(path, Scope()) == expected);
  int slot = -1;
  std::string err;
  CHECK_FALSE(knock::ReserveFreeSlot(path, Scope(), 4, kNowUnix, &slot, &err));
  CHECK(err ==
        "all 4 slots of this 30s window are used for bastion/ssh; wait 12s");
  CHECK_FALSE(knock::PeekFreeSlot(path, Scope(), 4, kNowUnix, &slot, &err));

  // Another server, service or window has slots of its own.
  CHECK(Reserve(path, Scope(kOtherKey)) == 0);
  CHECK(Reserve(path, Scope(kServerKey, kWindow, "https")) == 0);
  CHECK(Reserve(path, Scope(kServerKey, kWindow + 1)) == 0);

  struct stat info {};
  REQUIRE(stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  REQUIRE(stat((dir.path() + "/state/knock").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0700);
}

TEST_CASE("peeking neither records nor creates anything", "[client_state]") {
  TempDir dir("knock-state-test");
  const std::string path = dir.path() + "/knock/used";
  int slot = -1;
  std::string err;
  REQUIRE(knock::PeekFreeSlot(path, Scope(), 4, kNowUnix, &slot, &err));
  CHECK(slot == 0);
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/knock"));
  CHECK(Reserve(path, Scope()) == 0);
  REQUIRE(knock::PeekFreeSlot(path, Scope(), 4, kNowUnix, &slot, &err));
  CHECK(slot == 1);
  REQUIRE(knock::PeekFreeSlot(path, Scope(), 4, kNowUnix, &slot, &err));
  CHECK(slot == 1);
}

TEST_CASE("a pinned slot is refused the second time", "[client_state]") {
  TempDir dir("knock-state-test");
  const std::string path = dir.path() + "/used";
  std::string err;
  REQUIRE(knock::ReserveSlot(path, Scope(), 2, kNowUnix, &err));
  CHECK_FALSE(knock::ReserveSlot(path, Scope(), 2, kNowUnix, &err));
  CHECK(err ==
        "slot 2 of this 30s window was already sent for bastion/ssh; a "
        "sequence is never sent twice (leave out --slot)");
  CHECK(Reserve(path, Scope()) == 0);
  CHECK(Reserve(path, Scope()) == 1);
  CHECK(Reserve(path, Scope()) == 3);
}

TEST_CASE("a window pinned far from now keeps its slots and names itself",
          "[client_state]") {
  TempDir dir("knock-state-test");
  const std::string path = dir.path() + "/used";
  const knock::SlotScope old = Scope(kServerKey, 7);
  CHECK(Reserve(path, old, 2) == 0);
  CHECK(Reserve(path, old, 2) == 1);
  int slot = -1;
  std::string err;
  CHECK_FALSE(knock::ReserveFreeSlot(path, old, 2, kNowUnix, &slot, &err));
  CHECK(err ==
        "all 2 slots of window 7 are used for bastion/ssh; pick another --at");
}

TEST_CASE(
    "entries older than two windows are pruned when the file is rewritten",
    "[client_state]") {
  TempDir dir("knock-state-test");
  const std::string path = dir.path() + "/used";
  Reserve(path, Scope(kServerKey, kWindow - 3));
  CHECK(DataLines(path) == 1);
  // Written into the padding in place: nothing is pruned yet.
  Reserve(path, Scope(kServerKey, kWindow - 2));
  CHECK(DataLines(path) == 2);
  // Enough records to use up the padding: the rewrite drops kWindow - 3 and
  // keeps kWindow - 2, which a server's skew may still accept.
  for (int i = 0; i < 100; ++i) Reserve(path, Scope(kOtherKey), 256);
  CHECK(DataLines(path) == 101);
  CHECK(Reserve(path, Scope(kServerKey, kWindow - 2)) == 1);
  CHECK(Reserve(path, Scope(kServerKey, kWindow - 3)) == 0);
}

TEST_CASE("a record is written into the padding and keeps the file's size",
          "[client_state]") {
  TempDir dir("knock-state-test");
  const std::string path = dir.path() + "/used";
  Reserve(path, Scope());
  struct stat before {};
  REQUIRE(stat(path.c_str(), &before) == 0);
  CHECK(before.st_size == 4096);
  Reserve(path, Scope());
  struct stat after {};
  REQUIRE(stat(path.c_str(), &after) == 0);
  CHECK(after.st_size == 4096);
  CHECK(after.st_ino == before.st_ino);  // in place, not renamed
  CHECK(DataLines(path) == 2);
  // A file an older client wrote, without padding, is rewritten padded.
  std::ofstream(path, std::ios::trunc)
      << kServerKey << " ssh 30 " << kWindow << " 0\n";
  CHECK(Reserve(path, Scope()) == 1);
  REQUIRE(stat(path.c_str(), &after) == 0);
  CHECK(after.st_size == 4096);
  CHECK(DataLines(path) == 2);
}

/// Another knock process reserving a slot of `path`: forked, it reports
/// the slot it got (or -1) on a pipe, which the caller polls.
class ReservingChild {
 public:
  explicit ReservingChild(const std::string& path) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      // A forked child shares the parent's lock through the inherited
      // descriptor; a separate knock process would not have it.
      for (int fd = 3; fd < 256; ++fd)
        if (fd != fds[1]) close(fd);
      int slot = -1;
      std::string err;
      const char byte =
          knock::ReserveFreeSlot(path, Scope(), 4, kNowUnix, &slot, &err)
              ? static_cast<char>(slot)
              : static_cast<char>(-1);
      _exit(write(fds[1], &byte, 1) == 1 ? 0 : 1);
    }
    close(fds[1]);
    read_fd_ = fds[0];
  }
  ~ReservingChild() {
    close(read_fd_);
    int status = 0;
    waitpid(pid_, &status, 0);
    CHECK(status == 0);
  }
  /// True when the child has reported within `timeout_ms`.
  bool Reported(int timeout_ms) {
    pollfd waiting{read_fd_, POLLIN, 0};
    return poll(&waiting, 1, timeout_ms) == 1;
  }
  int Slot() {
    char byte = 0;
    CHECK(read(read_fd_, &byte, 1) == 1);
    return byte;
  }

 private:
  pid_t pid_ = -1;
  int read_fd_ = -1;
};

TEST_CASE("a pending record is seen before it is settled, and holds the lock",
          "[client_state]") {
  TempDir dir("knock-state-test");
  const std::string path = dir.path() + "/used";
  Reserve(path, Scope());  // the file exists: the next record is in place
  std::string err;
  int slot = -1;
  {
    knock::PendingRecord pending;
    REQUIRE(knock::ReserveFreeSlot(path, Scope(), 4, kNowUnix, &slot, &pending,
                                   &err));
    CHECK(slot == 1);
    // Another process reading now already sees slot 1 as used.
    int peeked = -1;
    REQUIRE(knock::PeekFreeSlot(path, Scope(), 4, kNowUnix, &peeked, &err));
    CHECK(peeked == 2);
    // Another process reserving now waits for the lock until it is settled.
    ReservingChild child(path);
    CHECK_FALSE(child.Reported(200));  // still blocked on the lock
    REQUIRE(pending.Settle(&err));
    CHECK(child.Slot() == 2);
  }
  CHECK(DataLines(path) == 3);
}

TEST_CASE("once settling started, the lock goes when the record is durable",
          "[client_state]") {
  TempDir dir("knock-state-test");
  const std::string path = dir.path() + "/used";
  Reserve(path, Scope());
  std::string err;
  int slot = -1;
  knock::PendingRecord pending;
  REQUIRE(knock::ReserveFreeSlot(path, Scope(), 4, kNowUnix, &slot, &pending,
                                 &err));
  CHECK(slot == 1);
  // Another open of the lock file stands for another knock process: flock
  // belongs to the open file, so no child is needed (forking beside the
  // running sync thread is unsafe under a sanitizer).
  const int other = open((path + ".lock").c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(other >= 0);
  CHECK(flock(other, LOCK_EX | LOCK_NB) != 0);  // control: held until now
  // The knocks leave and the port is probed meanwhile: the caller settles
  // only when it is done waiting, seconds later.
  pending.StartSettling();
  bool taken = false;
  for (int i = 0; i < 1000 && !taken; ++i) {
    taken = flock(other, LOCK_EX | LOCK_NB) == 0;
    if (!taken) usleep(10000);
  }
  CHECK(taken);
  flock(other, LOCK_UN);
  close(other);
  CHECK(pending.Settle(&err));
  CHECK(DataLines(path) == 2);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The file as a write of `torn` into the padding leaves it: after the last
/// record, in place, the file's size kept (a short write on a full disk, a
/// crash or a power cut mid-write).
void WriteTorn(const std::string& path, const std::string& base,
               const std::string& torn) {
  std::string text = base;
  const size_t end = text.find_last_not_of('\n') + 2;
  REQUIRE(end + torn.size() <= text.size());
  text.replace(end, torn.size(), torn);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string DamageMessage(const std::string& path, const char* window) {
  return "the knock state file \"" + path +
         "\" held a damaged record (an interrupted write), which may have "
         "sent any slot of " +
         window + " for bastion/ssh; wait 12s";
}

TEST_CASE("a damaged line blocks the window it may have used, not the user",
          "[client_state]") {
  TempDir dir("knock-state-test");
  const std::string path = dir.path() + "/used";
  Reserve(path, Scope());
  WriteTorn(path, ReadAll(path), "garbage");
  int slot = -1;
  std::string err;
  CHECK_FALSE(knock::PeekFreeSlot(path, Scope(), 4, kNowUnix, &slot, &err));
  CHECK(err == DamageMessage(path, "this 30s window"));
  CHECK_FALSE(knock::ReserveFreeSlot(path, Scope(), 4, kNowUnix, &slot, &err));
  CHECK(err == DamageMessage(path, "this 30s window"));
  CHECK_FALSE(knock::ReserveSlot(path, Scope(), 3, kNowUnix, &err));
  CHECK(err == DamageMessage(path, "this 30s window"));
  // The reservation replaced the damaged line by what it may have been:
  // the file reads whole again.
  const std::string text = ReadAll(path);
  CHECK(text.find("garbage") == std::string::npos);
  CHECK(text.find("\n* * 1 " + std::to_string(kNowUnix) + " * ") !=
        std::string::npos);
  // The next window, of any server, is free: nobody is locked out.
  const int64_t next = (kWindow + 1) * kStepSeconds;
  CHECK(Reserve(path, Scope(kServerKey, kWindow + 1), 4, next) == 0);
  CHECK(Reserve(path, Scope(kOtherKey, kWindow + 1), 4, next) == 0);
  // A peek (--dry-run) repairs nothing: it dates a damaged line by the
  // file's last write, so it is blocked only up to the window of that write.
  WriteTorn(path, ReadAll(path), "garbage");
  const timeval written[2] = {{next, 0}, {next, 0}};
  REQUIRE(utimes(path.c_str(), written) == 0);
  const int64_t later = next + 5 * kStepSeconds;
  CHECK_FALSE(knock::PeekFreeSlot(path, Scope(kServerKey, kWindow + 1), 4,
                                  later, &slot, &err));
  REQUIRE(knock::PeekFreeSlot(path, Scope(kServerKey, kWindow + 6), 4, later,
                              &slot, &err));
  CHECK(slot == 0);
}

TEST_CASE("a record torn at any byte is never read as another slot",
          "[client_state]") {
  TempDir dir("knock-state-test");
  const std::string path = dir.path() + "/used";
  // Slots 0 to 11 sent; the record of slot 12 is being written.
  for (int i = 0; i < 12; ++i) Reserve(path, Scope(), 16);
  const std::string base = ReadAll(path);
  const std::string whole_path = dir.path() + "/whole";
  std::filesystem::copy_file(path, whole_path);
  std::string err;
  REQUIRE(knock::ReserveSlot(whole_path, Scope(), 12, kNowUnix, &err));
  const std::string whole = ReadAll(whole_path);
  const size_t start = base.find_last_not_of('\n') + 2;
  const std::string line = whole.substr(start, whole.find('\n', start) - start);
  INFO(line);
  REQUIRE(line.rfind(std::string(kServerKey) + " ssh 30 " +
                         std::to_string(kWindow) + " 12 ",
                     0) == 0);
  for (size_t cut = 1; cut < line.size(); ++cut) {
    INFO("cut after " << cut << " bytes: " << line.substr(0, cut));
    WriteTorn(path, base, line.substr(0, cut));
    int slot = -1;
    CHECK_FALSE(
        knock::ReserveFreeSlot(path, Scope(), 16, kNowUnix, &slot, &err));
    CHECK(err == DamageMessage(path, "this 30s window"));
  }
  // The whole record is read as slot 12.
  WriteTorn(path, base, line);
  CHECK(Reserve(path, Scope(), 16) == 13);
}

TEST_CASE("without checks a torn slot reads as another one (control)",
          "[client_state]") {
  TempDir dir("knock-state-test");
  const std::string path = dir.path() + "/used";
  // An older client's file: no checks. Slots 0 to 11 sent, and the record
  // of slot 12 cut after its first digit.
  std::string text =
      "# knock: sequences already sent, never sent again. One per line:\n"
      "# server-public-key service step-seconds window slot\n";
  for (int i = 0; i < 12; ++i)
    text += std::string(kServerKey) + " ssh 30 " + std::to_string(kWindow) +
            " " + std::to_string(i) + "\n";
  text +=
      std::string(kServerKey) + " ssh 30 " + std::to_string(kWindow) + " 1\n";
  std::ofstream(path) << text;
  // Slot 12, which the torn record may have sent, is handed out again.
  CHECK(Reserve(path, Scope(), 16) == 12);
}

TEST_CASE("processes reserving at once never share a slot", "[client_state]") {
  TempDir dir("knock-state-test");
  const std::string path = dir.path() + "/used";
  constexpr int kProcesses = 8;
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::vector<pid_t> children;
  for (int i = 0; i < kProcesses; ++i) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int slot = -1;
      std::string err;
      char byte =
          knock::ReserveFreeSlot(path, Scope(), 16, kNowUnix, &slot, &err)
              ? static_cast<char>(slot)
              : static_cast<char>(-1);
      _exit(write(fds[1], &byte, 1) == 1 ? 0 : 1);
    }
    children.push_back(pid);
  }
  close(fds[1]);
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(status == 0);
  }
  std::set<int> slots;
  char byte;
  while (read(fds[0], &byte, 1) == 1) slots.insert(byte);
  close(fds[0]);
  CHECK(slots == std::set<int>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(DataLines(path) == kProcesses);
}

TEST_CASE("reserving slots leaves no descriptor open", "[client_state]") {
  const auto open_descriptors = [] {
    size_t count = 0;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator("/proc/self/fd"))
      ++count;
    return count;
  };
  TempDir dir("knock-state-test");
  const std::string path = dir.path() + "/used";
  const size_t before = open_descriptors();
  int slot = -1;
  std::string err;
  for (int i = 0; i < 4; ++i)
    REQUIRE(knock::ReserveFreeSlot(path, Scope(), 4, kNowUnix, &slot, &err));
  // All four used: the refusal path takes the lock too.
  CHECK_FALSE(knock::ReserveFreeSlot(path, Scope(), 4, kNowUnix, &slot, &err));
  CHECK(open_descriptors() == before);
  // Control: the count sees a descriptor left open.
  const int leaked = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  CHECK(open_descriptors() == before + 1);
  close(leaked);
}
