#pragma once
// The seam between capture and matching: frames come from live interfaces
// or a pcap file, and the same code handles them after this point.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "knockd/shared/server_config.h"
#include "knockd/sniffer/port_filter_program.h"

namespace knock {

/// One captured frame: its link type (a pcap DLT_* value), bytes and time.
struct Frame {
  int link_type = 0;
  const uint8_t* data = nullptr;
  uint32_t length = 0;
  int64_t time_us = 0;
};

/// Capture counters, reported on exit and on demand.
struct CaptureStats {
  uint64_t received = 0;
  uint64_t dropped_by_kernel = 0;
};

/// Where frames come from.
class PacketSource {
 public:
  using FrameHandler = std::function<void(const Frame&)>;
  virtual ~PacketSource() = default;
  /// File descriptors to poll() for readability; empty for a file source.
  virtual std::vector<int> PollFds() const = 0;
  /// Hands the frames available now to `handler`: at most
  /// `max_frames_per_capture` from each live capture (0: every one), a file
  /// a batch at a time. Sets `*cut` when a capture delivered its bound, so
  /// that more may be waiting. Returns false at end of file, or on an error
  /// (then `err` says what).
  virtual bool DispatchAtMost(const FrameHandler& handler,
                              uint32_t max_frames_per_capture, bool* cut,
                              std::string* err) = 0;
  /// Every frame available now (no bound).
  bool Dispatch(const FrameHandler& handler, std::string* err) {
    bool cut = false;
    return DispatchAtMost(handler, 0, &cut, err);
  }
  virtual CaptureStats Stats() const = 0;
  /// Replaces the kernel filter of every live capture with the exact-port
  /// program for `spec`, each at once (frames the old filter passed stay
  /// queued). Files and sources without a kernel filter take it as done.
  virtual bool SetPortFilter(const PortFilterSpec& spec, std::string* err) {
    (void)spec;
    (void)err;
    return true;
  }
};

/// The BPF program text that passes only knocks to `knock` settings' range.
/// A conservative prefilter (the decoder re-checks everything); it compiles
/// for every link type, but does not see inside VLAN tags.
std::string KnockFilterExpression(const KnockSettings& knock);
/// The same, plus VLAN-tagged variants where libpcap supports `vlan` for
/// `link_type` (a DLT_* value; Ethernet). This is what sources install.
std::string KnockFilterExpression(const KnockSettings& knock, int link_type);

/// Opens live capture on `interfaces` ("any" or names), immediate mode,
/// filtered to knocks.
bool OpenLiveSource(const std::vector<std::string>& interfaces,
                    const KnockSettings& knock,
                    std::unique_ptr<PacketSource>* out, std::string* err);

/// Opens a pcap or pcapng file; the same filter is applied.
bool OpenFileSource(const std::string& path, const KnockSettings& knock,
                    std::unique_ptr<PacketSource>* out, std::string* err);

}  // namespace knock
