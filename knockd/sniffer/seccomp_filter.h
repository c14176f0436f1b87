#pragma once
// The system call allowlist of knockd's unprivileged packet sniffer: a bug in
// the code that parses hostile packets should buy an attacker nothing but the
// calls the sniffer itself makes (docs/SECURITY.md, "Syscall filter of the
// sniffer").

#include <string>
#include <vector>

namespace knock {

/// Installs the sniffer's seccomp filter on every thread of this process:
/// allowed calls run, open/openat/socket/connect and path stats fail with
/// EACCES, clone3 fails with ENOSYS, setsockopt(PACKET_RX_RING) (pcap_close
/// freeing its ring) fails with EPERM, anything else kills the process.
/// Sets no_new_privs; call it last in setup, after the privilege drop.
/// setsockopt is allowed for one thing only: replacing the kernel filter
/// (SOL_SOCKET, SO_ATTACH_FILTER) of the capture sockets `capture_fds`.
bool InstallSnifferSyscallFilter(const std::vector<int>& capture_fds,
                                 std::string* err);
/// The same with no capture socket: setsockopt kills.
bool InstallSnifferSyscallFilter(std::string* err);

}  // namespace knock
