// libFuzzer target: PacketDecoder on hostile frames. The first byte picks
// the link type among those the decoder reads; the rest is the frame, fed to
// a TCP-only decoder over the default knock range and to a TCP-and-UDP one
// over every port, so that no header is skipped for being out of range.
#include <pcap/dlt.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "knockd/shared/server_config.h"
#include "knockd/sniffer/packet_decoder.h"

namespace {

// LINKTYPE_RAW as pcap files write it; DLT_RAW differs between systems.
constexpr int kLinktypeRaw = 101;
constexpr int kLinkTypes[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2,
                              DLT_RAW,    kLinktypeRaw,  DLT_IPV4,
                              DLT_IPV6,   DLT_NULL,      DLT_LOOP};
constexpr size_t kLinkTypeCount = sizeof(kLinkTypes) / sizeof(kLinkTypes[0]);

knock::KnockSettings TcpSettings() { return knock::KnockSettings{}; }

knock::KnockSettings BothSettings() {
  knock::KnockSettings settings;
  settings.protocol = knock::KnockProtocol::kBoth;
  settings.ports = knock::PortRange{1, 65535};
  return settings;
}

void DecodeOne(const knock::KnockSettings& settings,
               knock::PacketDecoder* decoder, const knock::Frame& frame) {
  knock::Knock knock;
  if (!decoder->Decode(frame, &knock)) return;
  // A knock outside what the decoder was told to accept is a decoder bug;
  // aborting makes libFuzzer keep the input.
  if (!settings.ports.Contains(knock.port)) std::abort();
  if (settings.protocol == knock::KnockProtocol::kTcp &&
      knock.transport != knock::Transport::kTcp) {
    std::abort();
  }
  if (knock.time_us != frame.time_us) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  int link_type = kLinkTypes[data[0] % kLinkTypeCount];
  if (!knock::IsDecodableLinkType(link_type)) std::abort();
  knock::Frame frame;
  frame.link_type = link_type;
  frame.data = data + 1;
  frame.length = static_cast<uint32_t>(size - 1);
  frame.time_us = 1700000000000000;

  static const knock::KnockSettings tcp = TcpSettings();
  static const knock::KnockSettings both = BothSettings();
  static knock::PacketDecoder tcp_decoder(tcp);
  static knock::PacketDecoder both_decoder(both);
  DecodeOne(tcp, &tcp_decoder, frame);
  DecodeOne(both, &both_decoder, frame);
  return 0;
}
