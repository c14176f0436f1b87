#pragma once
// Keeps the capture's kernel filter on the windows a knock can use now
// (PortFilterWindows): swapped before a table or a reload is taken, and
// from the sniffer's loop whenever time moves the windows, so that a
// window's ports pass before the matcher accepts it and until it no longer
// does.

#include <cstdint>
#include <memory>
#include <string>

#include "knockd/sniffer/packet_source.h"
#include "knockd/sniffer/port_filter_windows.h"

namespace knock {

/// The filter of one capture, as time, tables and reloads move it.
class CapturePortFilter {
 public:
  /// `source` must outlive this. When `enabled` is false (the control of
  /// tests/e2e/test_port_filter.sh) nothing is ever installed and every
  /// call succeeds.
  CapturePortFilter(PacketSource* source, bool enabled)
      : source_(source), enabled_(enabled) {}

  /// Before the table of `image` is taken: its windows for `now_us`.
  bool TakeTable(const SequenceTableImage& image, const KnockSettings& knock,
                 int64_t now_us, std::string* err);
  /// Before a reload is tried: until EndReload the filter passes the union
  /// of the running table's windows and the reload's, either of which may
  /// be in use.
  bool BeginReload(const SequenceTableImage& image, const KnockSettings& knock,
                   int64_t now_us, std::string* err);
  /// Once the reload was taken (`taken`) or refused: the windows of the
  /// table in use. On failure the union stays (it passes more, never less)
  /// and OnTimer tries again.
  bool EndReload(bool taken, int64_t now_us, std::string* err);
  /// From the loop: swaps the filter when the windows passed at `now_us`
  /// are not the installed ones.
  bool OnTimer(int64_t now_us, std::string* err);
  /// When OnTimer next has something to do (INT64_MAX: never).
  int64_t NextChangeUs(int64_t now_us) const;

  /// The time to give the calls above for the wall clock `now_us`: the
  /// latest one seen, until the pipeline counts another clock step
  /// (`clock_steps`, PipelineStats). The matcher's windows only go back on
  /// a step it detects; after a smaller step back it keeps accepting its
  /// later windows, and a filter following the wall clock would drop them.
  int64_t FollowedClockUs(int64_t now_us, uint64_t clock_steps);

  /// What the kernel passes now (empty while disabled).
  const PortFilterSpec& installed() const { return installed_; }
  bool enabled() const { return enabled_; }

 private:
  bool Install(int64_t now_us, std::string* err);

  PacketSource* source_;
  bool enabled_;
  PortFilterWindows running_;
  std::unique_ptr<PortFilterWindows> reload_;
  PortFilterSpec installed_;
  /// The windows the installed spec was made of; `valid_` false after a
  /// failed swap, so that the next OnTimer tries again.
  WindowSpan installed_running_;
  WindowSpan installed_reload_;
  bool valid_ = false;
  int64_t followed_us_ = 0;
  uint64_t followed_steps_ = 0;
};

}  // namespace knock
