// The sniffer's syscall filter, installed in forked children: the work the
// sniffer does still runs under it, forbidden calls kill the child with
// SIGSYS, and file and socket creation fail softly with EACCES.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sodium.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "knockd/sniffer/seccomp_filter.h"

namespace {

constexpr int kTimeoutMs = 10000;
constexpr int kWaitStepMs = 10;
// Child exit codes of the setup before the filter, out of errno's range.
constexpr int kFilterFailedExit = 200;
constexpr int kSkipExit = 201;
constexpr int kNoFailureExit = 202;

// Installs the filter in the calling (child) process, or exits. Core dumps
// are off so that the expected SIGSYS deaths leave no core files behind.
void InstallOrExit() {
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  std::string err;
  if (!knock::InstallSnifferSyscallFilter(&err)) {
    fprintf(stderr, "InstallSnifferSyscallFilter: %s\n", err.c_str());
    _exit(kFilterFailedExit);
  }
}

// Waits for `child` at most kTimeoutMs, killing it after that; returns its
// wait status.
int WaitBounded(pid_t child) {
  int status = 0;
  for (int waited_ms = 0; waited_ms < kTimeoutMs; waited_ms += kWaitStepMs) {
    const pid_t done = waitpid(child, &status, WNOHANG);
    if (done == child) return status;
    if (done < 0) FAIL("waitpid: " << strerror(errno));
    usleep(kWaitStepMs * 1000);
  }
  kill(child, SIGKILL);
  waitpid(child, &status, 0);
  FAIL("child " << child << " still running after " << kTimeoutMs << " ms");
  return status;
}

// Forks; the child runs `setup`, installs the filter, runs `body` and exits
// with what it returns. _exit, not exit: the sniffer leaves the same way,
// and LeakSanitizer's exit-time scan (ptrace) would be killed.
int RunFiltered(
    const std::function<int()>& body,
    const std::function<void()>& setup = [] {}) {
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    setup();
    InstallOrExit();
    _exit(body());
  }
  return WaitBounded(child);
}

bool KilledBySigsys(int status) {
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

// The exit code of a child, or -1 when it did not exit.
int ExitCode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// errno of a call expected to fail, or kNoFailureExit when it succeeded.
int ErrnoOf(long result) { return result == -1 ? errno : kNoFailureExit; }

bool BigAllocation() {
  constexpr size_t kBytes = 100u << 20;
  char* memory = static_cast<char*>(malloc(kBytes));
  if (memory == nullptr) return false;
  memset(memory, 0x5a, kBytes);
  char* bigger = static_cast<char*>(realloc(memory, 2 * kBytes));
  if (bigger == nullptr) return false;
  const bool intact = bigger[kBytes - 1] == 0x5a;
  free(bigger);
  return intact;
}

bool ThreadsAndCrypto() {
  unsigned char secret[crypto_scalarmult_SCALARBYTES];
  unsigned char shared[crypto_scalarmult_BYTES];
  randombytes_buf(secret, sizeof secret);
  if (crypto_scalarmult_base(shared, secret) != 0) return false;
  std::vector<std::thread> workers;
  std::vector<int> done(4, 0);
  for (int& flag : done)
    workers.emplace_back([&flag, &shared] {
      std::vector<unsigned char> block(1 << 20, 1);
      unsigned char hash[crypto_generichash_BYTES];
      crypto_generichash(hash, sizeof hash, block.data(), block.size(), shared,
                         sizeof shared);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::this_thread::yield();
      flag = 1;
    });
  for (std::thread& worker : workers) worker.join();
  return std::all_of(done.begin(), done.end(), [](int f) { return f == 1; });
}

bool PipePollAndClocks(const int pipe_fds[2]) {
  if (write(pipe_fds[1], "x", 1) != 1) return false;
  pollfd readable{pipe_fds[0], POLLIN, 0};
  char byte = 0;
  if (poll(&readable, 1, 1000) != 1 || read(pipe_fds[0], &byte, 1) != 1)
    return false;
  timespec now{};
  // The CPU-time clock is a real system call, not a vDSO read.
  unsigned char random[16];
  return clock_gettime(CLOCK_MONOTONIC, &now) == 0 &&
         clock_gettime(CLOCK_REALTIME, &now) == 0 &&
         clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now) == 0 &&
         getrandom(random, sizeof random, 0) == sizeof random && getpid() > 0 &&
         sched_yield() == 0;
}

bool SendRecv(const int pair[2]) {
  char buffer[16] = {};
  return send(pair[0], "grant", 5, 0) == 5 &&
         recv(pair[1], buffer, sizeof buffer, 0) == 5 &&
         memcmp(buffer, "grant", 5) == 0;
}

bool SendDescriptor(int socket_fd, int fd) {
  char payload = 'f';
  iovec iov{&payload, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(header), &fd, sizeof fd);
  return sendmsg(socket_fd, &message, 0) == 1;
}

// The received descriptor, or -1.
int ReceiveDescriptor(int socket_fd) {
  char payload = 0;
  iovec iov{&payload, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  if (recvmsg(socket_fd, &message, MSG_CMSG_CLOEXEC) != 1) return -1;
  const cmsghdr* header = CMSG_FIRSTHDR(&message);
  if (header == nullptr || header->cmsg_type != SCM_RIGHTS) return -1;
  int fd = -1;
  memcpy(&fd, CMSG_DATA(header), sizeof fd);
  return fd;
}

bool PassMemfd(const int pair[2], int memfd, const std::string& content) {
  if (!SendDescriptor(pair[0], memfd)) return false;
  const int received = ReceiveDescriptor(pair[1]);
  struct stat info {};
  if (received < 0 || fstat(received, &info) != 0 ||
      info.st_size != static_cast<off_t>(content.size()))
    return false;
  std::string by_pread(content.size(), '\0');
  std::string by_read(content.size(), '\0');
  const ssize_t size = static_cast<ssize_t>(content.size());
  const bool ok = pread(received, by_pread.data(), size, 0) == size &&
                  lseek(received, 0, SEEK_SET) == 0 &&
                  read(received, by_read.data(), size) == size &&
                  by_pread == content && by_read == content;
  return close(received) == 0 && ok;
}

// Writes `text` to a new memfd and returns it, or -1.
int MemfdWith(const std::string& text) {
  const int fd = memfd_create("knock-seccomp-test", MFD_CLOEXEC);
  if (fd < 0) return -1;
  if (write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return -1;
  return fd;
}

/// What a capture child opens before its filter, as the sniffer inherits it:
/// a non-blocking libpcap capture on lo and a UDP socket that sends to it.
struct CaptureSetup {
  pcap_t* pcap = nullptr;
  int sender = -1;
};

constexpr uint16_t kCapturePort = 47999;

// Opens the capture inside a new network namespace, where lo carries
// 198.18.0.1, and a sender connected to 198.18.0.1:kCapturePort. Root only.
bool OpenCapture(CaptureSetup* setup) {
  if (unshare(CLONE_NEWNET) != 0) return false;
  if (system("ip link set lo up && ip addr add 198.18.0.1/32 dev lo") != 0)
    return false;
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_t* pcap = pcap_create("lo", errbuf);
  if (pcap == nullptr || pcap_set_snaplen(pcap, 256) != 0 ||
      pcap_set_immediate_mode(pcap, 1) != 0 || pcap_activate(pcap) != 0 ||
      pcap_setnonblock(pcap, 1, errbuf) != 0)
    return false;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(kCapturePort);
  inet_pton(AF_INET, "198.18.0.1", &to.sin_addr);
  const int receiver = socket(AF_INET, SOCK_DGRAM, 0);
  const int sender = socket(AF_INET, SOCK_DGRAM, 0);
  const sockaddr* address = reinterpret_cast<const sockaddr*>(&to);
  if (bind(receiver, address, sizeof to) != 0 ||
      connect(sender, address, sizeof to) != 0)
    return false;
  setup->pcap = pcap;
  setup->sender = sender;
  return true;
}

void CountFrame(u_char* user, const pcap_pkthdr*, const u_char*) {
  ++*reinterpret_cast<int*>(user);
}

// 0 when the datagram came through the capture and pcap_stats answered.
int CaptureOne(const CaptureSetup& setup) {
  if (send(setup.sender, "knock", 5, 0) != 5) return 1;
  int frames = 0;
  for (int round = 0; round < 100 && frames == 0; ++round) {
    pollfd ready{pcap_get_selectable_fd(setup.pcap), POLLIN, 0};
    if (poll(&ready, 1, 20) < 0) return 2;
    if (pcap_dispatch(setup.pcap, -1, CountFrame,
                      reinterpret_cast<u_char*>(&frames)) < 0)
      return 3;
  }
  pcap_stat stats{};
  if (frames == 0) return 4;
  return pcap_stats(setup.pcap, &stats) == 0 && stats.ps_recv > 0 ? 0 : 5;
}

}  // namespace

TEST_CASE("the sniffer's work runs under the filter", "[seccomp]") {
  REQUIRE(sodium_init() >= 0);
  int pipe_fds[2];
  int pair[2];
  REQUIRE(pipe(pipe_fds) == 0);
  REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0);
  const std::string content = "a helper's reply in a memfd";
  const int memfd = MemfdWith(content);
  REQUIRE(memfd >= 0);
  const int sealed = memfd_create("knock-seccomp-sealed", MFD_ALLOW_SEALING);
  REQUIRE(sealed >= 0);
  REQUIRE(fcntl(sealed, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_WRITE) == 0);
  const std::vector<std::pair<const char*, std::function<bool()>>> steps = {
      {"malloc, realloc and free of 100 MB", BigAllocation},
      {"std::thread with libsodium", ThreadsAndCrypto},
      {"pipe, poll, clocks, getrandom",
       [&] { return PipePollAndClocks(pipe_fds); }},
      {"send and recv", [&] { return SendRecv(pair); }},
      {"a memfd through sendmsg and recvmsg",
       [&] { return PassMemfd(pair, memfd, content); }},
      {"fcntl(F_GET_SEALS) of a sealed memfd",
       [&] {
         return fcntl(sealed, F_GET_SEALS) == (F_SEAL_SEAL | F_SEAL_WRITE);
       }},
      {"syslog",
       [] {
         // With a syslog daemon this sends; without one glibc's reconnect
         // (socket, connect) is refused, and syslog gives up quietly.
         syslog(LOG_DEBUG, "knock unit test: syslog under seccomp");
         return true;
       }},
  };
  const int status = RunFiltered(
      [&] {
        for (size_t i = 0; i < steps.size(); ++i)
          if (!steps[i].second()) return static_cast<int>(i + 1);
        return 0;
      },
      [] { openlog("knock-test", LOG_PID | LOG_NDELAY, LOG_USER); });
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  close(pair[0]);
  close(pair[1]);
  close(memfd);
  close(sealed);
  const int code = ExitCode(status);
  if (code >= 1 && code <= static_cast<int>(steps.size()))
    FAIL("step failed under the filter: " << steps[code - 1].first);
  CHECK_FALSE(KilledBySigsys(status));
  CHECK(code == 0);
}

TEST_CASE("a libpcap capture runs under the filter", "[seccomp]") {
  if (geteuid() != 0) {
    WARN("not root: no capture in a new network namespace");
    return;
  }
  CaptureSetup setup;
  const int status = RunFiltered([&] { return CaptureOne(setup); },
                                 [&] {
                                   if (!OpenCapture(&setup)) _exit(kSkipExit);
                                 });
  if (ExitCode(status) == kSkipExit) {
    WARN("could not open a capture in a new network namespace");
    return;
  }
  CHECK_FALSE(KilledBySigsys(status));
  CHECK(ExitCode(status) == 0);
}

TEST_CASE("pcap_close runs under the filter; other setsockopt calls kill",
          "[seccomp]") {
  if (geteuid() != 0) {
    WARN("not root: no capture in a new network namespace");
    return;
  }
  // pcap_close asks the kernel to free the capture ring (setsockopt
  // PACKET_RX_RING), which fails quietly, then unmaps and closes.
  CaptureSetup setup;
  const auto open = [&] {
    if (!OpenCapture(&setup)) _exit(kSkipExit);
  };
  int status = RunFiltered(
      [&] {
        const int captured = CaptureOne(setup);
        pcap_close(setup.pcap);
        return captured;
      },
      open);
  if (ExitCode(status) == kSkipExit) {
    WARN("could not open a capture in a new network namespace");
    return;
  }
  CHECK_FALSE(KilledBySigsys(status));
  CHECK(ExitCode(status) == 0);
  // The refusal is that one option's: the ring's.
  status = RunFiltered(
      [&] {
        tpacket_req3 request{};
        const int fd = pcap_get_selectable_fd(setup.pcap);
        return setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &request,
                          sizeof request) == -1 &&
                       errno == EPERM
                   ? 0
                   : 1;
      },
      open);
  CHECK(ExitCode(status) == 0);
  // Control: any other setsockopt, on the same socket, still kills.
  status = RunFiltered(
      [&] {
        const int size = 1 << 16;
        setsockopt(pcap_get_selectable_fd(setup.pcap), SOL_SOCKET, SO_RCVBUF,
                   &size, sizeof size);
        return 0;
      },
      open);
  CHECK(KilledBySigsys(status));
  status = RunFiltered(
      [&] {
        const int version = TPACKET_V2;
        setsockopt(pcap_get_selectable_fd(setup.pcap), SOL_PACKET,
                   PACKET_VERSION, &version, sizeof version);
        return 0;
      },
      open);
  CHECK(KilledBySigsys(status));
}

TEST_CASE("forbidden calls kill the process with SIGSYS", "[seccomp]") {
  const std::vector<std::pair<const char*, std::function<int()>>> calls = {
      {"execve",
       [] {
         execl("/bin/true", "true", static_cast<char*>(nullptr));
         return 0;
       }},
      {"ptrace",
       [] { return static_cast<int>(ptrace(PTRACE_TRACEME, 0, 0, 0)); }},
      {"kill", [] { return kill(getppid(), 0); }},
      {"setuid", [] { return setuid(0); }},
      {"fcntl(F_SETFL)", [] { return fcntl(0, F_SETFL, O_NONBLOCK); }},
      {"fork", [] { return static_cast<int>(fork()); }},
      {"mmap with PROT_EXEC",
       [] {
         void* code = mmap(nullptr, 4096, PROT_READ | PROT_EXEC,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
         return code == MAP_FAILED ? 1 : 0;
       }},
      {"mprotect to PROT_EXEC",
       [] {
         static char page[4096] __attribute__((aligned(4096)));
         return mprotect(page, sizeof page, PROT_READ | PROT_EXEC);
       }},
  };
  for (const auto& [name, call] : calls) {
    INFO("call: " << name);
    const int status = RunFiltered(call);
    CHECK(KilledBySigsys(status));
  }
}

// Forks; the child makes a socket pair, installs the filter naming its
// second end as the capture, and exits with what `body` returns for the
// two ends.
int RunWithCaptureSocket(
    const std::function<int(int capture, int other)>& body) {
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, fds) != 0) _exit(kSkipExit);
    std::string err;
    if (!knock::InstallSnifferSyscallFilter({fds[1]}, &err)) {
      fprintf(stderr, "InstallSnifferSyscallFilter: %s\n", err.c_str());
      _exit(kFilterFailedExit);
    }
    _exit(body(fds[1], fds[0]));
  }
  return WaitBounded(child);
}

int AttachRejectAll(int fd, int level, int option) {
  sock_filter reject_all = {BPF_RET | BPF_K, 0, 0, 0};
  sock_fprog program = {1, &reject_all};
  return setsockopt(fd, level, option, &program, sizeof program) == 0 ? 0 : 1;
}

TEST_CASE("only the capture socket's kernel filter may be replaced",
          "[seccomp]") {
  CHECK(ExitCode(RunWithCaptureSocket([](int capture, int) {
          return AttachRejectAll(capture, SOL_SOCKET, SO_ATTACH_FILTER) +
                 AttachRejectAll(capture, SOL_SOCKET, SO_ATTACH_FILTER);
        })) == 0);
  // Controls: any other socket, option or level kills.
  CHECK(KilledBySigsys(RunWithCaptureSocket([](int, int other) {
    return AttachRejectAll(other, SOL_SOCKET, SO_ATTACH_FILTER);
  })));
  CHECK(KilledBySigsys(RunWithCaptureSocket([](int capture, int) {
    return AttachRejectAll(capture, SOL_SOCKET, SO_LOCK_FILTER);
  })));
  CHECK(KilledBySigsys(RunWithCaptureSocket([](int capture, int) {
    return AttachRejectAll(capture, SOL_SOCKET, SO_DETACH_FILTER);
  })));
  CHECK(KilledBySigsys(RunWithCaptureSocket([](int capture, int) {
    return AttachRejectAll(capture, SOL_SOCKET, SO_RCVBUF);
  })));
  // Without a capture socket named, not even that.
  CHECK(KilledBySigsys(RunFiltered([] {
    int fds[2] = {3, 4};
    return AttachRejectAll(fds[0], SOL_SOCKET, SO_ATTACH_FILTER);
  })));
}

TEST_CASE("opening files and sockets fails with EACCES", "[seccomp]") {
  int pair[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0);
  const std::vector<std::pair<const char*, std::function<int()>>> calls = {
      {"openat",
       [] { return ErrnoOf(openat(AT_FDCWD, "/etc/passwd", O_RDONLY)); }},
      {"fopen",
       [] {
         return fopen("/etc/passwd", "r") == nullptr ? errno : kNoFailureExit;
       }},
      {"socket", [] { return ErrnoOf(socket(AF_INET, SOCK_DGRAM, 0)); }},
      {"connect",
       [&] {
         sockaddr_un address{};
         address.sun_family = AF_UNIX;
         strcpy(address.sun_path, "/dev/log");
         return ErrnoOf(connect(pair[0], reinterpret_cast<sockaddr*>(&address),
                                sizeof address));
       }},
      {"stat by path",
       [] {
         struct stat info {};
         return ErrnoOf(stat("/etc/passwd", &info));
       }},
  };
  for (const auto& [name, call] : calls) {
    INFO("call: " << name);
    const int status = RunFiltered(call);
    CHECK(ExitCode(status) == EACCES);
  }
  close(pair[0]);
  close(pair[1]);
}

TEST_CASE("clone3 reports ENOSYS so that glibc falls back to clone",
          "[seccomp]") {
  const int status =
      RunFiltered([] { return ErrnoOf(syscall(SYS_clone3, nullptr, 0)); });
  CHECK(ExitCode(status) == ENOSYS);
}

TEST_CASE("the kernel reports the filter in /proc/PID/status", "[seccomp]") {
  int ready[2];
  int go[2];
  REQUIRE(pipe(ready) == 0);
  REQUIRE(pipe(go) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    InstallOrExit();
    char byte = 0;
    const bool ok = write(ready[1], "r", 1) == 1 && read(go[0], &byte, 1) == 1;
    _exit(ok ? 0 : 1);
  }
  close(ready[1]);
  close(go[0]);
  char byte = 0;
  const bool installed = read(ready[0], &byte, 1) == 1;
  std::string seccomp_line;
  std::string no_new_privs_line;
  std::ifstream status_file("/proc/" + std::to_string(child) + "/status");
  for (std::string line; std::getline(status_file, line);) {
    if (line.rfind("Seccomp:", 0) == 0) seccomp_line = line;
    if (line.rfind("NoNewPrivs:", 0) == 0) no_new_privs_line = line;
  }
  const bool released = write(go[1], "g", 1) == 1;
  close(ready[0]);
  close(go[1]);
  const int status = WaitBounded(child);
  REQUIRE(installed);
  CHECK(released);
  CHECK(seccomp_line == "Seccomp:\t2");
  CHECK(no_new_privs_line == "NoNewPrivs:\t1");
  CHECK(ExitCode(status) == 0);
}
