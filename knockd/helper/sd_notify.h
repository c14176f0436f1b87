#pragma once
// The systemd readiness protocol (sd_notify), spoken directly: one datagram
// to $NOTIFY_SOCKET, so knockd needs no libsystemd.

#include <string>

namespace knock {

/// Sends `state` ("READY=1", "STOPPING=1", ...) to the socket named by
/// $NOTIFY_SOCKET. Without that variable (not under systemd) it does nothing
/// and succeeds.
bool NotifySystemd(const std::string& state, std::string* err);

/// "RELOADING=1\nMONOTONIC_USEC=N", which systemd wants for a reload.
std::string ReloadingState();

}  // namespace knock
