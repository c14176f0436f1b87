#include "knock/lib/knock_sender.h"

#ifndef _WIN32
#include <arpa/inet.h>
#include <netdb.h>
#endif

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace knock {

namespace {

int64_t MonotonicMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int FamilyHint(AddressFamily family) {
  switch (family) {
    case AddressFamily::kV4:
      return AF_INET;
    case AddressFamily::kV6:
      return AF_INET6;
    case AddressFamily::kAny:
      break;
  }
  return AF_UNSPEC;
}

const char* FamilyWords(AddressFamily family) {
  return family == AddressFamily::kV4 ? " as IPv4 (-4)" : " as IPv6 (-6)";
}

std::string GaiErrorText(int rc) {
#ifdef EAI_SYSTEM
  if (rc == EAI_SYSTEM) return strerror(errno);
#endif
  return gai_strerror(rc);
}

std::string SendError(const ResolvedAddress& address, uint16_t port,
                      Transport transport, int error) {
  return std::string("cannot send a ") + TransportName(transport) +
         " knock to " + address.ToString() + " port " + std::to_string(port) +
         ": " + SocketErrorText(error);
}

// Returns 0 or an error value. Closing right after the connect() call, with
// linger {1, 0}, drops the socket while it is still in SYN-SENT: Linux sends
// no RST for that state and nothing is ever retransmitted.
int SendTcpKnock(const ResolvedAddress& target) {
  int error = 0;
  SocketHandle s =
      OpenNonBlockingSocket(target.family(), SOCK_STREAM, IPPROTO_TCP, &error);
  if (s == kNoSocket) return error;
  error = StartConnect(s, reinterpret_cast<const sockaddr*>(&target.storage),
                       target.length);
  AbortSocket(s);
  // The SYN left in all of these cases; a refusal is the server's kernel
  // answering, which knockd's firewall normally prevents.
  if (IsConnectPending(error) || IsConnectRefused(error) || error == EINTR)
    return 0;
  return error;
}

int SendUdpKnock(const ResolvedAddress& target) {
  int error = 0;
  SocketHandle s =
      OpenNonBlockingSocket(target.family(), SOCK_DGRAM, IPPROTO_UDP, &error);
  if (s == kNoSocket) return error;
  const int64_t n =
      sendto(s, "", 0, 0, reinterpret_cast<const sockaddr*>(&target.storage),
             target.length);
  error = n < 0 ? LastSocketError() : 0;
  CloseSocket(s);
  return error;
}

}  // namespace

std::string ResolvedAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = "?";
  if (family() == AF_INET)
    inet_ntop(AF_INET,
              &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, text,
              sizeof text);
  else if (family() == AF_INET6)
    inet_ntop(AF_INET6,
              &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, text,
              sizeof text);
  return text;
}

bool ResolveHost(const std::string& host, AddressFamily family,
                 ResolvedAddress* out, std::string* err) {
  StartSockets();
  addrinfo hints{};
  hints.ai_family = FamilyHint(family);
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* results = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &results);
  if (rc != 0) {
    *err = "cannot resolve \"" + host + "\"" +
           (family == AddressFamily::kAny ? "" : FamilyWords(family)) + ": " +
           GaiErrorText(rc);
    return false;
  }
  // getaddrinfo already ordered the answers by RFC 6724 preference.
  std::memcpy(&out->storage, results->ai_addr, results->ai_addrlen);
  out->length = static_cast<socklen_t>(results->ai_addrlen);
  freeaddrinfo(results);
  return true;
}

ResolvedAddress WithPort(const ResolvedAddress& address, uint16_t port) {
  ResolvedAddress copy = address;
  if (copy.family() == AF_INET)
    reinterpret_cast<sockaddr_in*>(&copy.storage)->sin_port = htons(port);
  else
    reinterpret_cast<sockaddr_in6*>(&copy.storage)->sin6_port = htons(port);
  return copy;
}

bool SendKnocks(const ResolvedAddress& address,
                const std::vector<uint16_t>& ports, Transport transport,
                int64_t gap_ms, std::vector<int64_t>* sent_offsets_us,
                std::string* err) {
  if (sent_offsets_us != nullptr) sent_offsets_us->clear();
  int64_t first_us = 0;
  for (size_t i = 0; i < ports.size(); ++i) {
    if (i > 0 && gap_ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
    const ResolvedAddress target = WithPort(address, ports[i]);
    const int64_t sent_us = MonotonicMicros();
    int error = transport == Transport::kTcp ? SendTcpKnock(target)
                                             : SendUdpKnock(target);
    if (error != 0) {
      *err = SendError(address, ports[i], transport, error);
      return false;
    }
    if (i == 0) first_us = sent_us;
    if (sent_offsets_us != nullptr)
      sent_offsets_us->push_back(sent_us - first_us);
  }
  return true;
}

}  // namespace knock
