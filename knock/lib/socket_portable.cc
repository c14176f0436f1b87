#include "knock/lib/socket_portable.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#ifdef _WIN32
#include <mutex>
#else
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#endif

namespace knock {

#ifdef _WIN32
// Winsock needs WSAStartup once per process before any other call.
void StartSockets() {
  static std::once_flag once;
  std::call_once(once, [] {
    WSADATA data;
    WSAStartup(MAKEWORD(2, 2), &data);
  });
}
#else
void StartSockets() {}
#endif

#ifdef _WIN32

int LastSocketError() { return WSAGetLastError(); }
int SocketTimedOutError() { return WSAETIMEDOUT; }
bool IsConnectPending(int error) {
  return error == WSAEWOULDBLOCK || error == WSAEINPROGRESS;
}
bool IsConnectRefused(int error) { return error == WSAECONNREFUSED; }

std::string SocketErrorText(int error) {
  char text[256] = {};
  const DWORD length = FormatMessageA(
      FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr,
      static_cast<DWORD>(error), 0, text, sizeof text, nullptr);
  std::string message(text, length);
  while (!message.empty() && (message.back() == '\n' ||
                              message.back() == '\r' || message.back() == '.'))
    message.pop_back();
  if (message.empty()) message = "Winsock error " + std::to_string(error);
  return message;
}

SocketHandle OpenNonBlockingSocket(int family, int type, int protocol,
                                   int* error) {
  StartSockets();
  // WSA_FLAG_NO_HANDLE_INHERIT: the socket stays in this process.
  SocketHandle s = WSASocketW(family, type, protocol, nullptr, 0,
                              WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET) {
    *error = WSAGetLastError();
    return kNoSocket;
  }
  SetBlocking(s, false);
  return s;
}

void SetBlocking(SocketHandle socket, bool blocking) {
  u_long non_blocking = blocking ? 0 : 1;
  ioctlsocket(socket, FIONBIO, &non_blocking);
}

void CloseSocket(SocketHandle socket) { closesocket(socket); }

int64_t SendSome(SocketHandle socket, const char* data, size_t size) {
  const int chunk = static_cast<int>(std::min<size_t>(size, 1 << 20));
  return send(socket, data, chunk, 0);
}

int64_t ReceiveSome(SocketHandle socket, char* data, size_t size) {
  const int chunk = static_cast<int>(std::min<size_t>(size, 1 << 20));
  return recv(socket, data, chunk, 0);
}

void ShutdownSending(SocketHandle socket) { shutdown(socket, SD_SEND); }

// select(), not WSAPoll: WSAPoll did not report failed connects before
// Windows 10 2004, and a refused probe must end at once.
std::vector<size_t> WaitForConnects(const std::vector<SocketHandle>& sockets,
                                    int64_t timeout_ms) {
  fd_set writable, failed;
  FD_ZERO(&writable);
  FD_ZERO(&failed);
  for (SocketHandle s : sockets) {
    FD_SET(s, &writable);
    FD_SET(s, &failed);
  }
  timeval timeout{static_cast<long>(timeout_ms / 1000),
                  static_cast<long>((timeout_ms % 1000) * 1000)};
  std::vector<size_t> ready;
  if (select(0, nullptr, &writable, &failed, &timeout) <= 0) return ready;
  for (size_t i = 0; i < sockets.size(); ++i)
    if (FD_ISSET(sockets[i], &writable) || FD_ISSET(sockets[i], &failed))
      ready.push_back(i);
  return ready;
}

#else  // POSIX

int LastSocketError() { return errno; }
int SocketTimedOutError() { return ETIMEDOUT; }
bool IsConnectPending(int error) { return error == EINPROGRESS; }
bool IsConnectRefused(int error) { return error == ECONNREFUSED; }
std::string SocketErrorText(int error) { return strerror(error); }

SocketHandle OpenNonBlockingSocket(int family, int type, int protocol,
                                   int* error) {
  // Flags set one by one: SOCK_NONBLOCK and SOCK_CLOEXEC are not on macOS.
  SocketHandle s = socket(family, type, protocol);
  if (s < 0) {
    *error = errno;
    return kNoSocket;
  }
  fcntl(s, F_SETFD, FD_CLOEXEC);
  SetBlocking(s, false);
#ifdef SO_NOSIGPIPE
  const int on = 1;
  setsockopt(s, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof on);
#endif
  return s;
}

void SetBlocking(SocketHandle socket, bool blocking) {
  const int flags = fcntl(socket, F_GETFL);
  if (flags < 0) return;
  fcntl(socket, F_SETFL, blocking ? flags & ~O_NONBLOCK : flags | O_NONBLOCK);
}

void CloseSocket(SocketHandle socket) { close(socket); }

int64_t SendSome(SocketHandle socket, const char* data, size_t size) {
#ifdef MSG_NOSIGNAL
  return send(socket, data, size, MSG_NOSIGNAL);
#else
  return send(socket, data, size, 0);  // SO_NOSIGPIPE is set
#endif
}

int64_t ReceiveSome(SocketHandle socket, char* data, size_t size) {
  return recv(socket, data, size, 0);
}

void ShutdownSending(SocketHandle socket) { shutdown(socket, SHUT_WR); }

std::vector<size_t> WaitForConnects(const std::vector<SocketHandle>& sockets,
                                    int64_t timeout_ms) {
  std::vector<pollfd> entries;
  for (SocketHandle s : sockets) entries.push_back({s, POLLOUT, 0});
  std::vector<size_t> ready;
  int rc = poll(entries.data(), entries.size(), static_cast<int>(timeout_ms));
  if (rc <= 0) return ready;  // EINTR counts as a short wait
  for (size_t i = 0; i < entries.size(); ++i)
    if (entries[i].revents != 0) ready.push_back(i);
  return ready;
}

#endif

int StartConnect(SocketHandle socket, const sockaddr* address,
                 socklen_t length) {
  return connect(socket, address, length) == 0 ? 0 : LastSocketError();
}

int ConnectOutcome(SocketHandle socket) {
  int error = 0;
  socklen_t length = sizeof error;
  if (getsockopt(socket, SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&error),
                 &length) != 0)
    return LastSocketError();
  return error;
}

void AbortSocket(SocketHandle socket) {
  linger no_linger{};
  no_linger.l_onoff = 1;
  no_linger.l_linger = 0;
  setsockopt(socket, SOL_SOCKET, SO_LINGER,
             reinterpret_cast<const char*>(&no_linger), sizeof no_linger);
  CloseSocket(socket);
}

}  // namespace knock
