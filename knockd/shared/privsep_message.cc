#include "knockd/shared/privsep_message.h"

#include <sodium.h>

#include <algorithm>

namespace knock {

namespace {

// Sizes on the wire, type byte included. An address is a family byte (4 or
// 6; 0 for "none" where allowed) and 16 address bytes.
constexpr size_t kAddressBytes = 17;
constexpr size_t kOwnerBytes = 4 + 4 + 8 + 1;
constexpr size_t kReadyBytes = 1;
constexpr size_t kGrantBytes = 1 + kAddressBytes + kOwnerBytes + 4;
constexpr size_t kRefusalBytes = 1 + 1 + 2 * kAddressBytes + kOwnerBytes;
constexpr size_t kReconfigureBytes = 1 + kKeyBytes;
constexpr size_t kReconfiguredBytes = 2;
constexpr size_t kShutdownBytes = 1;
constexpr size_t kStatsBytes = 1 + 5 * 8 + 4;
static_assert(kRefusalBytes < kMaxPrivsepMessageBytes);
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
  void Owner(SequenceOwner* owner) {
    owner->client = Uint(4);
    owner->service = Uint(4);
    owner->window = Uint(8);
    owner->slot = U8();
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
  reader->Owner(&out->owner);
  out->timeout_ms = reader->Uint(4);
  if (out->timeout_ms == 0) return reader->Fail("timeout_ms is 0", err);
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
  reader->Owner(&out->owner);
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
                                 uint32_t timeout_ms) {
  Writer writer(PrivsepMessageType::kGrant);
  writer.Address(source);
  writer.Owner(owner);
  writer.Uint(timeout_ms, 4);
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

std::vector<uint8_t> EncodeReconfigured(bool accepted) {
  Writer writer(PrivsepMessageType::kReconfigured);
  writer.U8(accepted ? 1 : 0);
  return writer.Take();
}

std::vector<uint8_t> EncodeShutdown() {
  return Writer(PrivsepMessageType::kShutdown).Take();
}

std::vector<uint8_t> EncodeStats(const SnifferStats& stats) {
  Writer writer(PrivsepMessageType::kStats);
  for (uint64_t counter : {stats.capture_received, stats.capture_dropped,
                           stats.frames, stats.knocks, stats.evictions})
    writer.Uint(counter, 8);
  writer.Uint(stats.sources, 4);
  return writer.Take();
}

std::vector<uint8_t> EncodeReconfigure(const PrivateKey& server_key) {
  std::vector<uint8_t> bytes(kReconfigureBytes);
  bytes[0] = static_cast<uint8_t>(PrivsepMessageType::kReconfigure);
  std::copy(server_key.bytes().begin(), server_key.bytes().end(),
            bytes.begin() + 1);
  return bytes;
}

bool DecodeSnifferMessage(const uint8_t* data, size_t size, PrivsepMessage* out,
                          std::string* err) {
  using T = PrivsepMessageType;
  if (!CheckFrame(data, size,
                  {T::kReady, T::kGrant, T::kRefusal, T::kReconfigured,
                   T::kShutdown, T::kStats},
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
                         PrivateKey* server_key, std::string* err) {
  using T = PrivsepMessageType;
  if (!CheckFrame(data, size, {T::kReconfigure, T::kShutdown}, err))
    return false;
  *out = PrivsepMessage();
  out->type = static_cast<T>(data[0]);
  if (out->type == T::kReconfigure) {
    KeyBytes key;
    std::copy(data + 1, data + 1 + kKeyBytes, key.begin());
    *server_key = PrivateKey::FromBytes(key);
    sodium_memzero(key.data(), key.size());
  }
  return true;
}

}  // namespace knock
