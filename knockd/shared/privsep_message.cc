#include "knockd/shared/privsep_message.h"

#include <algorithm>

#include "knockd/shared/sequence_table_image.h"

namespace knock {

namespace {

// Sizes on the wire, type byte included. An address is a family byte (4 or
// 6; 0 for "none" where allowed) and 16 address bytes.
constexpr size_t kAddressBytes = 17;
constexpr size_t kOwnerBytes = 4 + 4 + 8 + 1 + 1;
constexpr size_t kReadyBytes = 1;
constexpr size_t kGrantBytes =
    1 + kAddressBytes + kOwnerBytes + 4 + 1 + 2 * kMaxSequencePorts;
constexpr size_t kRefusalBytes = 1 + 1 + 2 * kAddressBytes + kOwnerBytes;
constexpr size_t kReconfigureBytes = 1 + 8 + 8;
constexpr size_t kTableBytes = 1 + 8;
constexpr size_t kReconfiguredBytes = 2;
constexpr size_t kShutdownBytes = 1;
constexpr size_t kStatsBytes = 1 + 5 * 8 + 4;
constexpr size_t kRefusalSummaryBytes =
    1 + 1 + kOwnerBytes + 8 + 4 + 4 + 1 + kAddressBytes + 1 +
    RefusalSummary::kMaxAddresses * kAddressBytes;
static_assert(kRefusalBytes < kMaxPrivsepMessageBytes);
static_assert(kRefusalSummaryBytes < kMaxPrivsepMessageBytes);
static_assert(kGrantBytes < kMaxPrivsepMessageBytes);
static_assert(kStatsBytes < kMaxPrivsepMessageBytes);

/// Appends fields little-endian.
class Writer {
 public:
  explicit Writer(PrivsepMessageType type) {
    bytes_.push_back(static_cast<uint8_t>(type));
  }
  void U8(uint8_t value) { bytes_.push_back(value); }
  void Uint(uint64_t value, int size) {
    for (int i = 0; i < size; ++i) bytes_.push_back(value >> (8 * i));
  }
  void Address(const IpAddress& address) {
    U8(static_cast<uint8_t>(address.family));
    bytes_.insert(bytes_.end(), address.bytes.begin(), address.bytes.end());
  }
  void NoAddress() { bytes_.resize(bytes_.size() + kAddressBytes, 0); }
  void Owner(const SequenceOwner& owner) {
    Uint(owner.client, 4);
    Uint(owner.service, 4);
    Uint(owner.window, 8);
    U8(owner.slot);
    U8(owner.bound ? 1 : 0);
  }
  std::vector<uint8_t> Take() { return std::move(bytes_); }

 private:
  std::vector<uint8_t> bytes_;
};

/// Reads fields little-endian from a message already checked for size.
class Reader {
 public:
  Reader(const uint8_t* data, const char* message)
      : data_(data), message_(message) {}
  uint8_t U8() { return data_[offset_++]; }
  uint64_t Uint(int size) {
    uint64_t value = 0;
    for (int i = 0; i < size; ++i)
      value |= uint64_t{data_[offset_++]} << (8 * i);
    return value;
  }
  bool Address(const char* field, IpAddress* out, std::string* err) {
    const uint8_t family = U8();
    const uint8_t* bytes = data_ + offset_;
    offset_ += 16;
    if (family == 6) {
      *out = IpAddress::V6(bytes);
      return true;
    }
    // IPv4 keeps the last 12 bytes zero so that equal addresses compare equal.
    if (family == 4 &&
        std::all_of(bytes + 4, bytes + 16, [](uint8_t b) { return b == 0; })) {
      *out = IpAddress::V4(bytes);
      return true;
    }
    return Fail(std::string(field) + " is not an address (family " +
                    std::to_string(family) + ")",
                err);
  }
  /// The 17 zero bytes of "no address", and nothing else.
  bool NoAddress(const char* field, const char* why, std::string* err) {
    const uint8_t* bytes = data_ + offset_;
    offset_ += kAddressBytes;
    if (std::all_of(bytes, bytes + kAddressBytes,
                    [](uint8_t b) { return b == 0; }))
      return true;
    return Fail(std::string(field) + " of " + why + " is not none (family " +
                    std::to_string(bytes[0]) + ")",
                err);
  }
  bool Owner(SequenceOwner* owner, std::string* err) {
    owner->client = Uint(4);
    owner->service = Uint(4);
    owner->window = Uint(8);
    owner->slot = U8();
    const uint8_t bound = U8();
    if (bound > 1) return Fail("bound flag " + std::to_string(bound), err);
    owner->bound = bound == 1;
    return true;
  }
  bool Fail(const std::string& what, std::string* err) const {
    *err = std::string(message_) + " message: " + what;
    return false;
  }

 private:
  const uint8_t* data_;
  const char* message_;
  size_t offset_ = 1;
};

// Any value is in range: a sniffer that lies here only makes the metrics
// lie.
void DecodeStats(Reader* reader, SnifferStats* out) {
  out->capture_received = reader->Uint(8);
  out->capture_dropped = reader->Uint(8);
  out->frames = reader->Uint(8);
  out->knocks = reader->Uint(8);
  out->evictions = reader->Uint(8);
  out->sources = static_cast<uint32_t>(reader->Uint(4));
}

size_t ExpectedSize(uint8_t type) {
  switch (static_cast<PrivsepMessageType>(type)) {
    case PrivsepMessageType::kReady:
      return kReadyBytes;
    case PrivsepMessageType::kGrant:
      return kGrantBytes;
    case PrivsepMessageType::kRefusal:
      return kRefusalBytes;
    case PrivsepMessageType::kReconfigure:
      return kReconfigureBytes;
    case PrivsepMessageType::kReconfigured:
      return kReconfiguredBytes;
    case PrivsepMessageType::kShutdown:
      return kShutdownBytes;
    case PrivsepMessageType::kRefusalSummary:
      return kRefusalSummaryBytes;
    case PrivsepMessageType::kTable:
      return kTableBytes;
    case PrivsepMessageType::kStats:
      return kStatsBytes;
  }
  return 0;
}

/// The type byte names a message this side accepts, at exactly its size.
bool CheckFrame(const uint8_t* data, size_t size,
                std::initializer_list<PrivsepMessageType> accepted,
                std::string* err) {
  if (size == 0) {
    *err = "empty message";
    return false;
  }
  const uint8_t type = data[0];
  const bool known =
      std::any_of(accepted.begin(), accepted.end(),
                  [type](auto t) { return static_cast<uint8_t>(t) == type; });
  if (!known) {
    *err = "unexpected message type " + std::to_string(type) + " (" +
           PrivsepMessageName(type) + ")";
    return false;
  }
  if (size != ExpectedSize(type)) {
    *err = std::string(PrivsepMessageName(type)) + " message of " +
           std::to_string(size) + " bytes, expected " +
           std::to_string(ExpectedSize(type));
    return false;
  }
  return true;
}

bool DecodeGrant(Reader* reader, PrivsepMessage* out, std::string* err) {
  if (!reader->Address("source", &out->source, err)) return false;
  if (!reader->Owner(&out->owner, err)) return false;
  out->timeout_ms = reader->Uint(4);
  if (out->timeout_ms == 0) return reader->Fail("timeout_ms is 0", err);
  const uint8_t count = reader->U8();
  if (count == 0 || count > kMaxSequencePorts)
    return reader->Fail("port_count " + std::to_string(count), err);
  out->port_count = count;
  for (size_t i = 0; i < kMaxSequencePorts; ++i) {
    out->ports[i] = static_cast<uint16_t>(reader->Uint(2));
    // One form on the wire: the unused tail is zero, and no used port is.
    if ((i < count) != (out->ports[i] != 0))
      return reader->Fail("port " + std::to_string(i) + " is " +
                              std::to_string(out->ports[i]) +
                              " with port_count " + std::to_string(count),
                          err);
  }
  return true;
}

bool DecodeSizes(Reader* reader, PrivsepMessage* out, std::string* err) {
  if (out->type == PrivsepMessageType::kReconfigure) {
    out->config_bytes = reader->Uint(8);
    if (out->config_bytes == 0 || out->config_bytes > kMaxConfigTextBytes)
      return reader->Fail("config_bytes " + std::to_string(out->config_bytes),
                          err);
  }
  out->image_bytes = reader->Uint(8);
  if (out->image_bytes == 0 || out->image_bytes > kMaxTableImageBytes)
    return reader->Fail("image_bytes " + std::to_string(out->image_bytes), err);
  return true;
}

bool DecodeRefusal(Reader* reader, PrivsepMessage* out, std::string* err) {
  const uint8_t verdict = reader->U8();
  if (verdict != static_cast<uint8_t>(Verdict::kReplay) &&
      verdict != static_cast<uint8_t>(Verdict::kExpiredWindow)) {
    return reader->Fail(
        "verdict " + std::to_string(verdict) + " is not a refusal", err);
  }
  out->verdict = static_cast<Verdict>(verdict);
  if (!reader->Address("source", &out->source, err)) return false;
  // A replay always names who used the sequence first and an expired window
  // never does, so that each refusal has exactly one form on the wire.
  const bool has_first_source = out->verdict == Verdict::kReplay;
  if (has_first_source
          ? !reader->Address("first_source", &out->first_source, err)
          : !reader->NoAddress("first_source", "an expired window", err))
    return false;
  if (!reader->Owner(&out->owner, err)) return false;
  return true;
}

bool DecodeRefusalSummary(Reader* reader, PrivsepMessage* out,
                          std::string* err) {
  RefusalSummary& summary = out->summary;
  const uint8_t verdict = reader->U8();
  if (verdict != static_cast<uint8_t>(Verdict::kReplay) &&
      verdict != static_cast<uint8_t>(Verdict::kExpiredWindow)) {
    return reader->Fail(
        "verdict " + std::to_string(verdict) + " is not a refusal", err);
  }
  summary.verdict = out->verdict = static_cast<Verdict>(verdict);
  if (!reader->Owner(&summary.owner, err)) return false;
  out->owner = summary.owner;
  summary.second = static_cast<int64_t>(reader->Uint(8));
  summary.count = static_cast<uint32_t>(reader->Uint(4));
  summary.sources = static_cast<uint32_t>(reader->Uint(4));
  const uint8_t capped = reader->U8();
  if (summary.second < 0)
    return reader->Fail("second " + std::to_string(summary.second), err);
  if (summary.count == 0) return reader->Fail("count is 0", err);
  if (summary.sources == 0 || summary.sources > summary.count)
    return reader->Fail("sources " + std::to_string(summary.sources) +
                            " of count " + std::to_string(summary.count),
                        err);
  if (capped > 1)
    return reader->Fail("sources_capped is " + std::to_string(capped), err);
  summary.sources_capped = capped == 1;
  const bool has_first_source = summary.verdict == Verdict::kReplay;
  if (has_first_source
          ? !reader->Address("first_source", &summary.first_source, err)
          : !reader->NoAddress("first_source", "an expired window", err))
    return false;
  out->first_source = summary.first_source;
  const uint8_t addresses = reader->U8();
  if (addresses == 0 || addresses > RefusalSummary::kMaxAddresses ||
      addresses > summary.sources)
    return reader->Fail("address count " + std::to_string(addresses), err);
  summary.addresses.resize(addresses);
  for (size_t i = 0; i < RefusalSummary::kMaxAddresses; ++i) {
    if (i < addresses ? !reader->Address("address", &summary.addresses[i], err)
                      : !reader->NoAddress("address", "an unused slot", err))
      return false;
  }
  out->source = summary.addresses[0];
  return true;
}

bool DecodeReconfigured(Reader* reader, PrivsepMessage* out, std::string* err) {
  const uint8_t accepted = reader->U8();
  if (accepted > 1)
    return reader->Fail("accepted is " + std::to_string(accepted), err);
  out->accepted = accepted == 1;
  return true;
}

}  // namespace

const char* PrivsepMessageName(uint8_t type) {
  switch (static_cast<PrivsepMessageType>(type)) {
    case PrivsepMessageType::kReady:
      return "ready";
    case PrivsepMessageType::kGrant:
      return "grant";
    case PrivsepMessageType::kRefusal:
      return "refusal";
    case PrivsepMessageType::kReconfigure:
      return "reconfigure";
    case PrivsepMessageType::kReconfigured:
      return "reconfigured";
    case PrivsepMessageType::kShutdown:
      return "shutdown";
    case PrivsepMessageType::kRefusalSummary:
      return "refusal summary";
    case PrivsepMessageType::kTable:
      return "table";
    case PrivsepMessageType::kStats:
      return "stats";
  }
  return "unknown";
}

std::vector<uint8_t> EncodeReady() {
  return Writer(PrivsepMessageType::kReady).Take();
}

std::vector<uint8_t> EncodeGrant(const IpAddress& source,
                                 const SequenceOwner& owner,
                                 uint32_t timeout_ms,
                                 std::span<const uint16_t> ports) {
  Writer writer(PrivsepMessageType::kGrant);
  writer.Address(source);
  writer.Owner(owner);
  writer.Uint(timeout_ms, 4);
  const size_t count = std::min(ports.size(), kMaxSequencePorts);
  writer.U8(static_cast<uint8_t>(count));
  for (size_t i = 0; i < kMaxSequencePorts; ++i)
    writer.Uint(i < count ? ports[i] : 0, 2);
  return writer.Take();
}

std::vector<uint8_t> EncodeRefusal(Verdict verdict, const IpAddress& source,
                                   const IpAddress& first_source,
                                   const SequenceOwner& owner) {
  Writer writer(PrivsepMessageType::kRefusal);
  writer.U8(static_cast<uint8_t>(verdict));
  writer.Address(source);
  if (verdict == Verdict::kReplay) {
    writer.Address(first_source);
  } else {
    writer.NoAddress();
  }
  writer.Owner(owner);
  return writer.Take();
}

std::vector<uint8_t> EncodeRefusalSummary(const RefusalSummary& summary) {
  Writer writer(PrivsepMessageType::kRefusalSummary);
  writer.U8(static_cast<uint8_t>(summary.verdict));
  writer.Owner(summary.owner);
  writer.Uint(static_cast<uint64_t>(summary.second), 8);
  writer.Uint(summary.count, 4);
  writer.Uint(summary.sources, 4);
  writer.U8(summary.sources_capped ? 1 : 0);
  if (summary.verdict == Verdict::kReplay) {
    writer.Address(summary.first_source);
  } else {
    writer.NoAddress();
  }
  const size_t addresses =
      std::min(summary.addresses.size(), RefusalSummary::kMaxAddresses);
  writer.U8(static_cast<uint8_t>(addresses));
  for (size_t i = 0; i < RefusalSummary::kMaxAddresses; ++i) {
    if (i < addresses) {
      writer.Address(summary.addresses[i]);
    } else {
      writer.NoAddress();
    }
  }
  return writer.Take();
}

std::vector<uint8_t> EncodeReconfigured(bool accepted) {
  Writer writer(PrivsepMessageType::kReconfigured);
  writer.U8(accepted ? 1 : 0);
  return writer.Take();
}

std::vector<uint8_t> EncodeShutdown() {
  return Writer(PrivsepMessageType::kShutdown).Take();
}

std::vector<uint8_t> EncodeReconfigure(uint64_t config_bytes,
                                       uint64_t image_bytes) {
  Writer writer(PrivsepMessageType::kReconfigure);
  writer.Uint(config_bytes, 8);
  writer.Uint(image_bytes, 8);
  return writer.Take();
}

std::vector<uint8_t> EncodeTable(uint64_t image_bytes) {
  Writer writer(PrivsepMessageType::kTable);
  writer.Uint(image_bytes, 8);
  return writer.Take();
}

std::vector<uint8_t> EncodeStats(const SnifferStats& stats) {
  Writer writer(PrivsepMessageType::kStats);
  for (uint64_t counter : {stats.capture_received, stats.capture_dropped,
                           stats.frames, stats.knocks, stats.evictions})
    writer.Uint(counter, 8);
  writer.Uint(stats.sources, 4);
  return writer.Take();
}

bool DecodeSnifferMessage(const uint8_t* data, size_t size, PrivsepMessage* out,
                          std::string* err) {
  using T = PrivsepMessageType;
  if (!CheckFrame(data, size,
                  {T::kReady, T::kGrant, T::kRefusal, T::kRefusalSummary,
                   T::kReconfigured, T::kShutdown, T::kStats},
                  err))
    return false;
  *out = PrivsepMessage();
  out->type = static_cast<T>(data[0]);
  Reader reader(data, PrivsepMessageName(data[0]));
  switch (out->type) {
    case T::kGrant:
      return DecodeGrant(&reader, out, err);
    case T::kRefusal:
      return DecodeRefusal(&reader, out, err);
    case T::kRefusalSummary:
      return DecodeRefusalSummary(&reader, out, err);
    case T::kReconfigured:
      return DecodeReconfigured(&reader, out, err);
    case T::kStats:
      DecodeStats(&reader, &out->stats);
      return true;
    default:
      return true;
  }
}

bool DecodeHelperMessage(const uint8_t* data, size_t size, PrivsepMessage* out,
                         std::string* err) {
  using T = PrivsepMessageType;
  if (!CheckFrame(data, size, {T::kReconfigure, T::kTable, T::kShutdown}, err))
    return false;
  *out = PrivsepMessage();
  out->type = static_cast<T>(data[0]);
  if (out->type == T::kShutdown) return true;
  Reader reader(data, PrivsepMessageName(data[0]));
  return DecodeSizes(&reader, out, err);
}

}  // namespace knock
