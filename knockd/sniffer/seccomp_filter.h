#pragma once
// The system call allowlist of knockd's unprivileged packet sniffer: a bug in
// the code that parses hostile packets should buy an attacker nothing but the
// calls the sniffer itself makes (docs/SECURITY.md, "Syscall filter of the
// sniffer").

#include <string>

namespace knock {

/// Installs the sniffer's seccomp filter on every thread of this process:
/// allowed calls run, open/openat/socket/connect and path stats fail with
/// EACCES, clone3 fails with ENOSYS, setsockopt(PACKET_RX_RING) (pcap_close
/// freeing its ring) fails with EPERM, anything else kills the process.
/// Sets no_new_privs; call it last in setup, after the privilege drop.
bool InstallSnifferSyscallFilter(std::string* err);

}  // namespace knock
