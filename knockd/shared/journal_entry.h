#pragma once
// knockd's structured log events as journald and syslog carry them: the
// fields of one event, journald's native protocol (one datagram to
// /run/systemd/journal/socket), and RFC 5424 structured data.

#include <string>
#include <vector>

#include "knockd/shared/knock_outcome.h"

namespace knock {

/// One field of a log event: KEY=value in the journal (KEY is A-Z 0-9 _),
/// a PARAM-NAME="value" in syslog's structured data.
struct LogField {
  std::string key;
  std::string value;
};

/// The MESSAGE_IDs (128-bit, as `journalctl MESSAGE_ID=...` takes them) of
/// knockd's events, fixed forever so that filters and alerts keep working.
inline constexpr char kMessageIdGranted[] = "5b0e2d6a3c1f4e8b9a7d2c4f6e8a1b3d";
inline constexpr char kMessageIdRefreshed[] =
    "5b0e2d6a3c1f4e8b9a7d2c4f6e8a1b3e";
inline constexpr char kMessageIdReplay[] = "5b0e2d6a3c1f4e8b9a7d2c4f6e8a1b3f";
inline constexpr char kMessageIdExpiredWindow[] =
    "5b0e2d6a3c1f4e8b9a7d2c4f6e8a1b40";
inline constexpr char kMessageIdStarted[] = "5b0e2d6a3c1f4e8b9a7d2c4f6e8a1b41";
inline constexpr char kMessageIdStopping[] = "5b0e2d6a3c1f4e8b9a7d2c4f6e8a1b42";
inline constexpr char kMessageIdReloaded[] = "5b0e2d6a3c1f4e8b9a7d2c4f6e8a1b43";
inline constexpr char kMessageIdReloadRefused[] =
    "5b0e2d6a3c1f4e8b9a7d2c4f6e8a1b44";
inline constexpr char kMessageIdNotEnforced[] =
    "5b0e2d6a3c1f4e8b9a7d2c4f6e8a1b45";

/// MESSAGE_ID, KNOCK_VERDICT, KNOCK_CLIENT, KNOCK_SERVICE, KNOCK_SOURCE,
/// KNOCK_WINDOW, KNOCK_SLOT, and per verdict KNOCK_PORTS and KNOCK_UNTIL
/// (grants) or KNOCK_FIRST_SOURCE (replays).
std::vector<LogField> OutcomeFields(const KnockOutcome& outcome);

/// A grant or refresh that opened nothing (the used set could not be saved,
/// the firewall failed): OutcomeFields under kMessageIdNotEnforced, with
/// KNOCK_ENFORCED=false and KNOCK_ERROR, so that no filter on the grant's
/// MESSAGE_ID counts it as a grant.
std::vector<LogField> NotEnforcedFields(const KnockOutcome& outcome,
                                        const std::string& error);

/// MESSAGE_ID and KNOCK_EVENT for a lifecycle event ("started", ...).
std::vector<LogField> LifecycleFields(const char* message_id,
                                      const char* event);

/// One entry in journald's native protocol: "KEY=value\n" per field, or,
/// for a value holding a newline, "KEY\n", its length as 64-bit little
/// endian, the value and "\n".
std::string EncodeJournalEntry(const std::vector<LogField>& fields);

/// RFC 5424 structured data: [knock@32473 verdict="granted" ...], the
/// KNOCK_ prefix dropped and the names lowercased, '"', '\' and ']'
/// escaped; MESSAGE_ID becomes the message_id parameter.
std::string FormatStructuredData(const std::vector<LogField>& fields);

}  // namespace knock
