#pragma once
// The messages between knockd's two processes after setup: the sniffer
// (unprivileged, parses packets) and the firewall helper (CAP_NET_ADMIN,
// enforces grants, keeps the used set and the audit log). Both sides name
// each message with the same PrivsepMessageType. Every message has one
// fixed size; a decoder accepts a message only at exactly that size and
// with every field in range, and the helper ends on anything else.

#include <cstdint>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/x25519_key.h"
#include "knockd/shared/knock_outcome.h"
#include "knockd/shared/sequence_owner.h"

namespace knock {

/// The kind of a message, its first byte on the wire.
enum class PrivsepMessageType : uint8_t {
  kReady = 1,         // sniffer → helper: knocks are being watched
  kGrant = 2,         // sniffer → helper: open for a completed sequence
  kRefusal = 3,       // sniffer → helper: a refused sequence, for the audit
  kReconfigure = 4,   // helper → sniffer: a reloaded configuration
  kReconfigured = 5,  // sniffer → helper: whether it took the reload
  kShutdown = 6,      // either way: stop now
  kStats = 10,        // sniffer → helper: its counters, for the metrics
};

/// What only the sniffer can count, sent to the helper every few seconds
/// for the metrics file. Totals since the sniffer started, and one gauge.
struct SnifferStats {
  uint64_t capture_received = 0;
  uint64_t capture_dropped = 0;  // by the kernel: the buffer was full
  uint64_t frames = 0;
  uint64_t knocks = 0;
  uint64_t evictions = 0;
  uint32_t sources = 0;  // gauge: sources with knocks in flight
};

/// A decoded message. Only the fields of its type are meaningful.
struct PrivsepMessage {
  PrivsepMessageType type = PrivsepMessageType::kReady;
  /// kGrant, kRefusal: who completed the sequence, and which one it was.
  IpAddress source;
  SequenceOwner owner;
  /// kGrant: how long the hole stays open; the helper checks it against
  /// the service's open_for.
  uint32_t timeout_ms = 0;
  /// kRefusal: kReplay or kExpiredWindow; grants travel as kGrant only.
  Verdict verdict = Verdict::kReplay;
  /// kRefusal of a replay: who used the sequence first.
  IpAddress first_source;
  /// kReconfigured: true if the sniffer switched to the new configuration.
  bool accepted = false;
  /// kStats: the sniffer's counters.
  SnifferStats stats;
};

/// The largest message on the wire; a receive buffer one byte larger
/// catches anything longer.
constexpr size_t kMaxPrivsepMessageBytes = 64;

/// The name both sides log: "ready", "grant", "refusal", ...; "unknown"
/// for a byte that names no message.
const char* PrivsepMessageName(uint8_t type);

std::vector<uint8_t> EncodeReady();
std::vector<uint8_t> EncodeGrant(const IpAddress& source,
                                 const SequenceOwner& owner,
                                 uint32_t timeout_ms);
std::vector<uint8_t> EncodeRefusal(Verdict verdict, const IpAddress& source,
                                   const IpAddress& first_source,
                                   const SequenceOwner& owner);
std::vector<uint8_t> EncodeReconfigured(bool accepted);
std::vector<uint8_t> EncodeShutdown();
std::vector<uint8_t> EncodeStats(const SnifferStats& stats);
/// The private key travels in the message; the configuration text travels
/// beside it as a sealed memfd. The caller wipes the returned bytes.
std::vector<uint8_t> EncodeReconfigure(const PrivateKey& server_key);

/// What the helper accepts from the sniffer: ready, grant, refusal,
/// reconfigured, shutdown, stats. On failure `err` names the message and the
/// bad field with its value.
bool DecodeSnifferMessage(const uint8_t* data, size_t size, PrivsepMessage* out,
                          std::string* err);
/// What the sniffer accepts from the helper: reconfigure (its key goes to
/// `server_key`), shutdown.
bool DecodeHelperMessage(const uint8_t* data, size_t size, PrivsepMessage* out,
                         PrivateKey* server_key, std::string* err);

}  // namespace knock
