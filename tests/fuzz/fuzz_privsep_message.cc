// libFuzzer target: the privsep message decoders on hostile bytes, as a
// compromised sniffer (or helper) could send them. Both decoders see every
// input; a message either decoder accepts must re-encode to exactly the
// bytes it came from, so that no two wire forms mean the same message and
// no byte the decoder ignored could carry anything.
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "knockd/shared/privsep_message.h"

namespace {

std::vector<uint8_t> Reencode(const knock::PrivsepMessage& message) {
  using T = knock::PrivsepMessageType;
  switch (message.type) {
    case T::kReady:
      return knock::EncodeReady();
    case T::kGrant:
      return knock::EncodeGrant(message.source, message.owner,
                                message.timeout_ms);
    case T::kRefusal:
      return knock::EncodeRefusal(message.verdict, message.source,
                                  message.first_source, message.owner);
    case T::kReconfigured:
      return knock::EncodeReconfigured(message.accepted);
    case T::kShutdown:
      return knock::EncodeShutdown();
    case T::kStats:
      return knock::EncodeStats(message.stats);
    case T::kReconfigure:
      break;
  }
  // The sniffer's decoder never yields a reconfigure.
  std::abort();
}

void RequireSame(const std::vector<uint8_t>& encoded, const uint8_t* data,
                 size_t size) {
  if (encoded.size() != size) std::abort();
  if (size > 0 && std::memcmp(encoded.data(), data, size) != 0) std::abort();
}

void FuzzSniffer(const uint8_t* data, size_t size) {
  knock::PrivsepMessage message;
  std::string err;
  if (!knock::DecodeSnifferMessage(data, size, &message, &err)) {
    if (err.empty()) std::abort();
    return;
  }
  RequireSame(Reencode(message), data, size);
}

void FuzzHelper(const uint8_t* data, size_t size) {
  knock::PrivsepMessage message;
  knock::PrivateKey key;
  std::string err;
  if (!knock::DecodeHelperMessage(data, size, &message, &key, &err)) {
    if (err.empty()) std::abort();
    return;
  }
  using T = knock::PrivsepMessageType;
  if (message.type == T::kShutdown) {
    RequireSame(knock::EncodeShutdown(), data, size);
  } else if (message.type == T::kReconfigure) {
    std::vector<uint8_t> encoded = knock::EncodeReconfigure(key);
    RequireSame(encoded, data, size);
    sodium_memzero(encoded.data(), encoded.size());
  } else {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzSniffer(data, size);
  FuzzHelper(data, size);
  return 0;
}
