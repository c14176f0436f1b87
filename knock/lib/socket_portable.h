#pragma once
// The few socket calls the client makes, spelled once for POSIX systems
// (Linux, macOS, the BSDs) and once for Winsock, so that the sender, the
// probe and the relay read the same everywhere.

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#include <cstdint>
#include <string>
#include <vector>

namespace knock {

#ifdef _WIN32
/// A socket: a SOCKET on Windows, a descriptor elsewhere.
using SocketHandle = SOCKET;
inline const SocketHandle kNoSocket = INVALID_SOCKET;
#else
/// A socket: a SOCKET on Windows, a descriptor elsewhere.
using SocketHandle = int;
inline constexpr SocketHandle kNoSocket = -1;
#endif

/// Readies the socket library (WSAStartup on Windows; nothing elsewhere).
/// Every call here that needs it does it; safe to repeat.
void StartSockets();

/// A socket error: an errno value, or a WSAE* value on Windows.
int LastSocketError();

/// The error a connect() bounded in time ends with.
int SocketTimedOutError();

/// True for the error a non-blocking connect() starts with.
bool IsConnectPending(int error);

/// True when the server's kernel answered a SYN with a reset.
bool IsConnectRefused(int error);

/// The error's text, e.g. "Connection refused".
std::string SocketErrorText(int error);

/// A non-blocking socket that children do not inherit and that raises no
/// SIGPIPE; kNoSocket with `*error` set on failure.
SocketHandle OpenNonBlockingSocket(int family, int type, int protocol,
                                   int* error);

/// Starts a connect(): 0 when it completed at once, else an error value
/// (IsConnectPending() for one under way).
int StartConnect(SocketHandle socket, const sockaddr* address,
                 socklen_t length);

/// The outcome of a finished non-blocking connect (SO_ERROR): 0 or an error.
int ConnectOutcome(SocketHandle socket);

/// Waits up to `timeout_ms` until one of the connects under way in
/// `sockets` has finished (connected or failed); returns the indices of the
/// finished ones (empty on timeout).
std::vector<size_t> WaitForConnects(const std::vector<SocketHandle>& sockets,
                                    int64_t timeout_ms);

/// Makes the socket blocking (or not) again.
void SetBlocking(SocketHandle socket, bool blocking);

void CloseSocket(SocketHandle socket);

/// Closes with a zero linger: a connect still under way is dropped without
/// another packet, so its SYN is never retransmitted.
void AbortSocket(SocketHandle socket);

/// send() that reports a vanished peer as an error rather than a signal.
int64_t SendSome(SocketHandle socket, const char* data, size_t size);

/// recv() of up to `size` bytes: the count, 0 at EOF, -1 on error.
int64_t ReceiveSome(SocketHandle socket, char* data, size_t size);

/// Closes the sending half (EOF for the peer).
void ShutdownSending(SocketHandle socket);

}  // namespace knock
