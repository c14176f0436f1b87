#include "knockd/sniffer/seccomp_filter.h"

#include <fcntl.h>
#include <linux/if_packet.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

// The AddressSanitizer runtime makes a few calls of its own (below); a
// release build does not get them.
#if defined(__SANITIZE_ADDRESS__)
#define KNOCK_SECCOMP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KNOCK_SECCOMP_ASAN 1
#endif
#endif

namespace knock {

namespace {

// Each group was checked with strace against a program doing what the
// sniffer does after the filter (matcher build, poll loop over a TPACKET_V3
// ring, socket messages with a memfd, syslog, pcap_stats, _exit), built
// plainly and with ASan/UBSan, on Debian 12 (glibc 2.36, libpcap 1.10.3).
constexpr const char* kAllowedSyscalls[] = {
    // Frames, the helper socket, the received memfd, stderr, the clock-step
    // timerfd (made and armed before the filter; a cancelled timer stays
    // armed, so read() is all it needs). send() and recv() are
    // sendto/recvfrom without an address; libstdc++'s filebuf writes with
    // writev. lseek rewinds a memfd the helper has just written.
    "read",
    "pread64",
    "write",
    "writev",
    "lseek",
    "close",
    "recvfrom",
    "recvmsg",
    "sendto",
    "sendmsg",
    // The event loop. glibc's poll() is the poll call on x86-64 and ppoll
    // where poll does not exist.
    "poll",
    "ppoll",
    // pcap_stats() reads PACKET_STATISTICS; libpcap reads SO_ERROR when the
    // ring reports an error.
    "getsockopt",
    // fstat() of the memfd: glibc 2.36 makes it newfstatat(fd, "",
    // AT_EMPTY_PATH) (a rule below), other versions fstat.
    "fstat",
    // Time. Usually the vDSO answers without a system call; the CPU-time
    // clocks and a kernel without vDSO come here. Sleeps: glibc uses
    // clock_nanosleep, the sanitizer runtime nanosleep.
    "clock_gettime",
    "gettimeofday",
    "clock_nanosleep",
    "nanosleep",
    // Memory: malloc, big allocations (mmap, mremap on realloc), thread
    // stacks (munmap, madvise on exit). mmap and mprotect have rules below.
    "brk",
    "munmap",
    "mremap",
    "madvise",
    // Threads (clone has a rule below): the start of a thread
    // (set_robust_list, rseq, blocked signals, SIGSETXID's handler installed
    // on the first pthread_create), joins and locks (futex, sched_yield in
    // spin locks), std::thread::hardware_concurrency and malloc's arena count
    // (sched_getaffinity, once /sys and /proc cannot be opened), thread exit.
    "set_robust_list",
    "rseq",
    "rt_sigprocmask",
    "rt_sigaction",
    "futex",
    "sched_yield",
    "sched_getaffinity",
    "exit",
    // libsodium's randombytes; syslog's LOG_PID.
    "getrandom",
    "getpid",
    // Signal return and the restart of an interrupted poll or sleep.
    "rt_sigreturn",
    "restart_syscall",
    // _exit().
    "exit_group",
#ifdef KNOCK_SECCOMP_ASAN
    // ASan: each thread gets an alternate signal stack and is registered by
    // tid; a pipe probes whether memory is readable.
    "sigaltstack",
    "gettid",
    "pipe2",
#endif
};

// A library that opens a file (tzdata, /sys for the CPU count) or reconnects
// to syslog gets an error it already handles instead of a dead sniffer. In
// the empty chroot nothing could be opened anyway.
constexpr const char* kRefusedSyscalls[] = {
    "open",
    "openat",
    "socket",
    "connect",
#ifdef KNOCK_SECCOMP_ASAN
    // A sanitizer report looks up the executable's name (readlink) and asks
    // whether stderr is a terminal (ioctl). Refused, the report still comes
    // out, unsymbolized, and the process exits 1; killed, it would be lost.
    "readlink",
    "ioctl",
#endif
};

struct FilterDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Filter = std::unique_ptr<void, FilterDeleter>;

bool Add(scmp_filter_ctx ctx, uint32_t action, const char* name,
         unsigned int arg_count, const scmp_arg_cmp* args, std::string* err) {
  const int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR) {
    *err = "unknown system call \"" + std::string(name) + "\"";
    return false;
  }
  const int rc = seccomp_rule_add_array(ctx, action, nr, arg_count, args);
  if (rc != 0) {
    *err = "cannot add the seccomp rule for \"" + std::string(name) +
           "\": " + strerror(-rc);
    return false;
  }
  return true;
}

bool AddPlain(scmp_filter_ctx ctx, uint32_t action, const char* name,
              std::string* err) {
  return Add(ctx, action, name, 0, nullptr, err);
}

// The calls allowed only with some arguments.
bool AddArgumentRules(scmp_filter_ctx ctx, std::string* err) {
  // No executable mappings: injected code cannot be made to run, and
  // nothing in the sniffer loads code after setup.
  const scmp_arg_cmp no_exec = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
  // Threads only: fork() would be a process outside this accounting.
  const scmp_arg_cmp thread =
      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
  // fstat() of a descriptor is allowed; a lookup by path fails like open.
  const scmp_arg_cmp by_fd =
      SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH);
  const scmp_arg_cmp by_path = SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0);
  const scmp_arg_cmp get_seals = SCMP_A1(SCMP_CMP_EQ, F_GET_SEALS, 0);
  // pcap_close first asks the kernel to free the capture ring; refused, it
  // goes on to unmap and close, and closing frees the ring anyway. Allowed,
  // it would reopen the ring's setup code (packet_set_ring) to an attacker.
  const scmp_arg_cmp rx_ring[] = {SCMP_A1(SCMP_CMP_EQ, SOL_PACKET, 0),
                                  SCMP_A2(SCMP_CMP_EQ, PACKET_RX_RING, 0)};
  return Add(ctx, SCMP_ACT_ALLOW, "mmap", 1, &no_exec, err) &&
         Add(ctx, SCMP_ACT_ALLOW, "mprotect", 1, &no_exec, err) &&
         Add(ctx, SCMP_ACT_ALLOW, "clone", 1, &thread, err) &&
         Add(ctx, SCMP_ACT_ALLOW, "newfstatat", 1, &by_fd, err) &&
         // A reloaded configuration's memfd is checked for its seals.
         Add(ctx, SCMP_ACT_ALLOW, "fcntl", 1, &get_seals, err) &&
         Add(ctx, SCMP_ACT_ERRNO(EACCES), "newfstatat", 1, &by_path, err) &&
         // clone3 passes its flags in memory, out of the filter's sight;
         // ENOSYS makes glibc fall back to clone, whose flags it can see.
         AddPlain(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", err) &&
         Add(ctx, SCMP_ACT_ERRNO(EPERM), "setsockopt", 2, rx_ring, err);
}

// The capture's exact-port filter is replaced at each window roll and on
// reload. Only that option, only on the capture sockets: the worst a
// subverted sniffer can do with it is blind its own capture, which it can
// do anyway by not reading. SO_LOCK_FILTER is never set (it would forbid
// the next replacement), SO_DETACH_FILTER stays forbidden, and every other
// option still kills (pcap_close's ring release gets EPERM, above).
bool AddCaptureFilterRules(scmp_filter_ctx ctx,
                           const std::vector<int>& capture_fds,
                           std::string* err) {
  for (int fd : capture_fds) {
    const scmp_arg_cmp args[] = {
        SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(fd), 0),
        SCMP_A1(SCMP_CMP_EQ, SOL_SOCKET, 0),
        SCMP_A2(SCMP_CMP_EQ, SO_ATTACH_FILTER, 0),
    };
    if (!Add(ctx, SCMP_ACT_ALLOW, "setsockopt", 3, args, err)) return false;
  }
  return true;
}

bool AddRules(scmp_filter_ctx ctx, std::string* err) {
  for (const char* name : kAllowedSyscalls)
    if (!AddPlain(ctx, SCMP_ACT_ALLOW, name, err)) return false;
  for (const char* name : kRefusedSyscalls)
    if (!AddPlain(ctx, SCMP_ACT_ERRNO(EACCES), name, err)) return false;
  return AddArgumentRules(ctx, err);
}

bool SetAttributes(scmp_filter_ctx ctx, std::string* err) {
  // A call through another ABI (int 0x80, x32) is not in the allowlist's
  // numbering, so it kills too; TSYNC puts any thread already running under
  // the same filter.
  const int rc_arch =
      seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  const int rc_tsync = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
  if (rc_arch != 0 || rc_tsync != 0) {
    *err = std::string("cannot set the seccomp filter attributes: ") +
           strerror(rc_arch != 0 ? -rc_arch : -rc_tsync);
    return false;
  }
  return true;
}

}  // namespace

bool InstallSnifferSyscallFilter(std::string* err) {
  return InstallSnifferSyscallFilter({}, err);
}

bool InstallSnifferSyscallFilter(const std::vector<int>& capture_fds,
                                 std::string* err) {
  Filter ctx(seccomp_init(SCMP_ACT_KILL_PROCESS));
  if (!ctx) {
    *err = "cannot create the seccomp filter (seccomp_init failed)";
    return false;
  }
  if (!SetAttributes(ctx.get(), err) || !AddRules(ctx.get(), err) ||
      !AddCaptureFilterRules(ctx.get(), capture_fds, err))
    return false;
  const int rc = seccomp_load(ctx.get());
  if (rc != 0) {
    *err = std::string("cannot install the seccomp filter: ") + strerror(-rc);
    return false;
  }
  return true;
}

}  // namespace knock
