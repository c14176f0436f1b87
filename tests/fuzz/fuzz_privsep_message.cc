// libFuzzer target: the privsep message decoders and the sequence table
// image decoder on hostile bytes, as a compromised sniffer (or helper)
// could send them. Every decoder sees every input; whatever one accepts
// must re-encode to exactly the bytes it came from, so that no two wire
// forms mean the same thing and no byte a decoder ignored could carry
// anything. An accepted image must also hold only ports of its range.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "knockd/shared/privsep_message.h"
#include "knockd/shared/sequence_table_image.h"

namespace {

std::vector<uint8_t> Reencode(const knock::PrivsepMessage& message) {
  using T = knock::PrivsepMessageType;
  switch (message.type) {
    case T::kReady:
      return knock::EncodeReady();
    case T::kGrant:
      return knock::EncodeGrant(message.source, message.owner,
                                message.timeout_ms, message.grant_ports());
    case T::kRefusal:
      return knock::EncodeRefusal(message.verdict, message.source,
                                  message.first_source, message.owner);
    case T::kReconfigured:
      return knock::EncodeReconfigured(message.accepted);
    case T::kShutdown:
      return knock::EncodeShutdown();
    case T::kRefusalSummary:
      return knock::EncodeRefusalSummary(message.summary);
    case T::kStats:
      return knock::EncodeStats(message.stats);
    case T::kReconfigure:
    case T::kTable:
      break;
  }
  // The sniffer's decoder never yields a reconfigure or a table.
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
  std::string err;
  if (!knock::DecodeHelperMessage(data, size, &message, &err)) {
    if (err.empty()) std::abort();
    return;
  }
  using T = knock::PrivsepMessageType;
  if (message.type == T::kShutdown) {
    RequireSame(knock::EncodeShutdown(), data, size);
  } else if (message.type == T::kReconfigure) {
    RequireSame(
        knock::EncodeReconfigure(message.config_bytes, message.image_bytes),
        data, size);
  } else if (message.type == T::kTable) {
    RequireSame(knock::EncodeTable(message.image_bytes), data, size);
  } else {
    std::abort();
  }
}

void FuzzTableImage(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  knock::SequenceTableImage image;
  std::string err;
  if (!knock::DecodeTableImage(bytes, &image, &err)) {
    if (err.empty()) std::abort();
    return;
  }
  const uint32_t last = image.first_port + image.range_size - 1;
  for (uint16_t port : image.ports)
    if (port < image.first_port || port > last) std::abort();
  if (image.ports.size() !=
      size_t{image.count} * image.window_count * image.owners.size())
    std::abort();
  if (knock::EncodeTableImage(image) != bytes) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzSniffer(data, size);
  FuzzHelper(data, size);
  FuzzTableImage(data, size);
  return 0;
}
