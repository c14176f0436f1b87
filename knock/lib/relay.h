#pragma once
// The byte relay behind `knock proxy` (an ssh ProxyCommand): standard input
// to a TCP connection and the connection back to standard output.

#include <string>

#include "knock/lib/socket_portable.h"

namespace knock {

/// Copies `in_fd` to `socket_fd` and `socket_fd` to `out_fd` until both
/// directions are finished, with poll() and no busy loop (on Windows, where
/// a console or pipe cannot be polled with a socket, with a thread for
/// standard input). Half-closes pass
/// through: EOF on `in_fd` becomes shutdown(SHUT_WR) on the socket once
/// everything read was sent; EOF on the socket closes `out_fd` (the relay
/// owns it from the start) once everything was written. It returns when both
/// directions have ended, or when either side goes away (a reset socket, a
/// closed reader of `out_fd`): true for a clean end, false with `err` for a
/// failure. The descriptors' O_NONBLOCK flags are restored on return;
/// `in_fd` and `socket_fd` stay open.
bool Relay(int in_fd, int out_fd, SocketHandle socket_fd, std::string* err);

}  // namespace knock
