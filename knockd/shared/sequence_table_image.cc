#include "knockd/shared/sequence_table_image.h"

#include <cstring>

namespace knock {

namespace {

constexpr char kMagic[] = "knocktb1";
constexpr size_t kMagicBytes = 8;
constexpr size_t kHeaderBytes = kMagicBytes + 2 + 4 + 4 + 4 + 8 + 8 + 4 + 4;
constexpr size_t kOwnerBytes = 4 + 4 + 1 + 1;
constexpr uint32_t kMaxCount = 64;
constexpr uint32_t kMaxWindows = 64;
constexpr uint32_t kPortSpace = 65536;

void Put(std::string* out, uint64_t value, int size) {
  for (int i = 0; i < size; ++i)
    out->push_back(static_cast<char>(value >> (8 * i)));
}

/// Reads little-endian fields from bytes whose size was checked first.
class Fields {
 public:
  explicit Fields(std::string_view bytes) : bytes_(bytes) {}
  uint64_t Get(int size) {
    uint64_t value = 0;
    for (int i = 0; i < size; ++i)
      value |= uint64_t{static_cast<uint8_t>(bytes_[at_++])} << (8 * i);
    return value;
  }

 private:
  std::string_view bytes_;
  size_t at_ = kMagicBytes;
};

bool Fail(const std::string& what, std::string* err) {
  *err = "sequence table image: " + what;
  return false;
}

}  // namespace

std::string EncodeTableImage(const SequenceTableImage& image) {
  std::string out(kMagic, kMagicBytes);
  out.reserve(kHeaderBytes + image.owners.size() * kOwnerBytes +
              image.ports.size() * 2);
  Put(&out, image.first_port, 2);
  Put(&out, image.range_size, 4);
  Put(&out, image.count, 4);
  Put(&out, image.skew, 4);
  Put(&out, image.center_window, 8);
  Put(&out, image.oldest_window, 8);
  Put(&out, image.window_count, 4);
  Put(&out, image.owners.size(), 4);
  for (const TableImageOwner& owner : image.owners) {
    Put(&out, owner.client, 4);
    Put(&out, owner.service, 4);
    Put(&out, owner.slot, 1);
    Put(&out, owner.bound ? 1 : 0, 1);
  }
  for (uint16_t port : image.ports) Put(&out, port, 2);
  return out;
}

bool DecodeTableImage(std::string_view bytes, SequenceTableImage* out,
                      std::string* err) {
  if (bytes.size() < kHeaderBytes)
    return Fail(std::to_string(bytes.size()) + " bytes, shorter than its " +
                    std::to_string(kHeaderBytes) + "-byte header",
                err);
  if (std::memcmp(bytes.data(), kMagic, kMagicBytes) != 0)
    return Fail("bad magic", err);
  Fields fields(bytes);
  SequenceTableImage image;
  image.first_port = static_cast<uint16_t>(fields.Get(2));
  image.range_size = static_cast<uint32_t>(fields.Get(4));
  image.count = static_cast<uint32_t>(fields.Get(4));
  image.skew = static_cast<uint32_t>(fields.Get(4));
  image.center_window = fields.Get(8);
  image.oldest_window = fields.Get(8);
  image.window_count = static_cast<uint32_t>(fields.Get(4));
  const uint64_t owners = fields.Get(4);
  if (image.range_size == 0 ||
      uint64_t{image.first_port} + image.range_size > kPortSpace)
    return Fail("range of " + std::to_string(image.range_size) +
                    " ports from " + std::to_string(image.first_port),
                err);
  if (image.count == 0 || image.count > kMaxCount)
    return Fail("count " + std::to_string(image.count), err);
  if (image.window_count == 0 || image.window_count > kMaxWindows ||
      image.oldest_window + image.window_count < image.oldest_window)
    return Fail("window_count " + std::to_string(image.window_count) +
                    " from window " + std::to_string(image.oldest_window),
                err);
  // Every factor is bounded (owners < 2^32, count <= 64, windows <= 64), so
  // the products cannot overflow 64 bits.
  const uint64_t port_count = owners * image.count * image.window_count;
  const uint64_t expected =
      kHeaderBytes + owners * kOwnerBytes + port_count * 2;
  if (bytes.size() != expected || expected > kMaxTableImageBytes)
    return Fail(std::to_string(bytes.size()) + " bytes, expected " +
                    std::to_string(expected) + " for " +
                    std::to_string(owners) + " owners",
                err);
  image.owners.resize(owners);
  for (TableImageOwner& owner : image.owners) {
    owner.client = static_cast<uint32_t>(fields.Get(4));
    owner.service = static_cast<uint32_t>(fields.Get(4));
    owner.slot = static_cast<uint8_t>(fields.Get(1));
    const uint64_t bound = fields.Get(1);
    if (bound > 1) return Fail("bound flag " + std::to_string(bound), err);
    owner.bound = bound == 1;
  }
  image.ports.resize(port_count);
  const uint32_t last_port = image.first_port + image.range_size - 1;
  for (uint16_t& port : image.ports) {
    port = static_cast<uint16_t>(fields.Get(2));
    if (port < image.first_port || port > last_port)
      return Fail("port " + std::to_string(port) + " outside " +
                      std::to_string(image.first_port) + "-" +
                      std::to_string(last_port),
                  err);
  }
  *out = std::move(image);
  return true;
}

}  // namespace knock
