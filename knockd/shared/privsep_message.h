#pragma once
// The messages between knockd's two processes after setup: the sniffer
// (unprivileged, parses packets) and the firewall helper (CAP_NET_ADMIN,
// enforces grants, keeps the used set and the audit log). Both sides name
// each message with the same PrivsepMessageType. Every message has one
// fixed size; a decoder accepts a message only at exactly that size and
// with every field in range, and the helper ends on anything else.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/ip_address.h"
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
  kTable = 7,         // helper → sniffer: the port tables of live windows
  kStats = 10,        // sniffer → helper: its counters, for the metrics
  // sniffer → helper: refusals of one owner in one second, summed, for the
  // audit. Numbered apart from the small numbers, which grow one by one
  // as message types are added.
  kRefusalSummary = 16,
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

/// Refusals of one sequence (owner) and verdict within one second of the
/// sniffer's clock, summed so that a replay flood costs the helper one
/// message and one audit record a second, not one per spoofed source.
struct RefusalSummary {
  static constexpr size_t kMaxAddresses = 4;
  Verdict verdict = Verdict::kReplay;
  SequenceOwner owner;
  /// kReplay: who used the sequence first.
  IpAddress first_source;
  /// The second (Unix time) the refusals fell in.
  int64_t second = 0;
  /// How many refusals, from how many distinct sources; with
  /// `sources_capped`, at least that many (the sniffer counts distinct
  /// sources up to a bound).
  uint32_t count = 0;
  uint32_t sources = 0;
  bool sources_capped = false;
  /// The first few distinct sources, 1 to kMaxAddresses of them.
  std::vector<IpAddress> addresses;
};

/// The most ports a sequence has (knock.count's limit).
constexpr size_t kMaxSequencePorts = 64;
/// The most bytes of configuration a reconfigure announces: the bundle of
/// knockd.toml and its drop-ins (64 MiB of text) with the files' headers.
constexpr uint64_t kMaxConfigTextBytes = uint64_t{65} << 20;

/// A decoded message. Only the fields of its type are meaningful.
struct PrivsepMessage {
  PrivsepMessageType type = PrivsepMessageType::kReady;
  /// kGrant, kRefusal: who completed the sequence, and which one it was.
  IpAddress source;
  SequenceOwner owner;
  /// kGrant: how long the hole stays open; the helper checks it against
  /// the service's open_for.
  uint32_t timeout_ms = 0;
  /// kGrant: the evidence, the ports of the sequence as the sniffer saw
  /// them (port_count of them, the rest zero), in sending order.
  uint8_t port_count = 0;
  std::array<uint16_t, kMaxSequencePorts> ports{};
  /// kRefusal: kReplay or kExpiredWindow; grants travel as kGrant only.
  Verdict verdict = Verdict::kReplay;
  /// kRefusal of a replay: who used the sequence first.
  IpAddress first_source;
  /// kReconfigured: true if the sniffer switched to the new configuration.
  bool accepted = false;
  /// kRefusalSummary (its verdict and owner are also in `verdict` and
  /// `owner`, for the checks all sequence messages share).
  RefusalSummary summary;
  /// kReconfigure: the memfd holds config_bytes of configuration text, then
  /// image_bytes of table image. kTable: the memfd holds image_bytes.
  uint64_t config_bytes = 0;
  uint64_t image_bytes = 0;

  std::span<const uint16_t> grant_ports() const {
    return {ports.data(), port_count};
  }
  /// kStats: the sniffer's counters.
  SnifferStats stats;
};

/// The largest message on the wire; a receive buffer one byte larger
/// catches anything longer.
constexpr size_t kMaxPrivsepMessageBytes = 256;

/// The name both sides log: "ready", "grant", "refusal", ...; "unknown"
/// for a byte that names no message.
const char* PrivsepMessageName(uint8_t type);

std::vector<uint8_t> EncodeReady();
/// `ports` holds 1 to kMaxSequencePorts ports (more are cut off).
std::vector<uint8_t> EncodeGrant(const IpAddress& source,
                                 const SequenceOwner& owner,
                                 uint32_t timeout_ms,
                                 std::span<const uint16_t> ports);
std::vector<uint8_t> EncodeRefusal(Verdict verdict, const IpAddress& source,
                                   const IpAddress& first_source,
                                   const SequenceOwner& owner);
std::vector<uint8_t> EncodeRefusalSummary(const RefusalSummary& summary);
std::vector<uint8_t> EncodeReconfigured(bool accepted);
std::vector<uint8_t> EncodeShutdown();
/// The configuration text and the new table image travel beside it, in
/// that order, as one sealed memfd; the message gives their sizes. No key
/// ever crosses the channel.
std::vector<uint8_t> EncodeReconfigure(uint64_t config_bytes,
                                       uint64_t image_bytes);
/// The image travels beside it as a sealed memfd of `image_bytes`.
std::vector<uint8_t> EncodeTable(uint64_t image_bytes);

std::vector<uint8_t> EncodeStats(const SnifferStats& stats);

/// What the helper accepts from the sniffer: ready, grant, refusal,
/// refusal summary, reconfigured, shutdown, stats. On failure `err` names the
/// message and the bad field with its value.
bool DecodeSnifferMessage(const uint8_t* data, size_t size, PrivsepMessage* out,
                          std::string* err);
/// What the sniffer accepts from the helper: reconfigure, table, shutdown.
bool DecodeHelperMessage(const uint8_t* data, size_t size, PrivsepMessage* out,
                         std::string* err);

}  // namespace knock
