#pragma once
// The port tables the firewall helper hands the sniffer: every expected
// sequence of the windows that can be live, with its owner, and no key.
// It travels as the bytes of a sealed memfd; the sniffer decodes it as
// hostile input (a bad image is refused whole, never half taken).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace knock {

/// One sequence's owner within a window; the window is its block's.
struct TableImageOwner {
  uint32_t client = 0;
  uint32_t service = 0;
  uint8_t slot = 0;
  bool bound = false;  // a bound sequence's head (knock/v1 section 7)
  bool operator==(const TableImageOwner& other) const = default;
};

/// The held windows [oldest_window, oldest_window + window_count), each a
/// block of owners.size() sequences of `count` ports, in sending order.
struct SequenceTableImage {
  uint16_t first_port = 0;
  uint32_t range_size = 0;
  uint32_t count = 0;
  uint32_t skew = 0;
  /// The helper's window when it made the image.
  uint64_t center_window = 0;
  uint64_t oldest_window = 0;
  uint32_t window_count = 0;
  std::vector<TableImageOwner> owners;
  std::vector<uint16_t> ports;
  bool operator==(const SequenceTableImage& other) const = default;
};

/// The most bytes an image may hold (10,000 clients with every slot of
/// several services over a wide skew stay far below).
constexpr uint64_t kMaxTableImageBytes = uint64_t{1} << 30;

/// Little-endian: magic "knocktb1", first_port (2), range_size (4), count
/// (4), skew (4), center_window (8), oldest_window (8), window_count (4),
/// owner count (4), owners (client 4, service 4, slot 1, bound 1 each), ports
/// (2 each).
std::string EncodeTableImage(const SequenceTableImage& image);
/// Accepts exactly the encoding of a well-formed image: the sizes agree
/// with the byte count, the range fits in 16 bits, count is 1-64, every
/// port is in the range, the windows do not wrap. `err` names the field
/// and its value.
bool DecodeTableImage(std::string_view bytes, SequenceTableImage* out,
                      std::string* err);

}  // namespace knock
