#pragma once
// Keeps the capture's kernel filter on the windows a knock can use now
// (PortFilterWindows): swapped before a table or a reload is taken, and
// from the sniffer's loop whenever time moves the windows, so that a
// window's ports pass before the matcher accepts it and until it no longer
// does. A swap the kernel refuses falls back to the whole knock range,
// never to less, and is tried again soon.

#include <cstdint>
#include <memory>
#include <string>

#include "knockd/shared/logger.h"
#include "knockd/sniffer/packet_source.h"
#include "knockd/sniffer/port_filter_windows.h"

namespace knock {

/// The filter of one capture, as time, tables and reloads move it.
class CapturePortFilter {
 public:
  /// After a failed swap the exact filter is tried again this long later
  /// at the latest (sooner when time moves the windows): often enough to
  /// end a transient error's cost soon, seldom enough that a lasting one
  /// costs the loop one failing setsockopt a second, not one a wake-up.
  static constexpr int64_t kSwapRetryUs = 1000000;

  /// `source` and `logger` must outlive this. When `enabled` is false (the
  /// control of tests/e2e/test_port_filter.sh) nothing is ever installed
  /// and every call succeeds.
  CapturePortFilter(PacketSource* source, bool enabled, Logger* logger)
      : source_(source), enabled_(enabled), logger_(logger) {}

  /// Every call that installs follows the same rule: when the kernel
  /// refuses the exact filter, the whole knock range (of both tables during
  /// a reload) is installed instead, which passes every port any window
  /// may use; the error is logged once per distinct text and counted, and
  /// OnTimer tries the exact filter again at the next change of the windows
  /// or after kSwapRetryUs. Only when the whole range is refused too (the
  /// kernel's filter is then unknown) does a call return false.

  /// Before the table of `image` is taken: its windows for `now_us`.
  bool TakeTable(const SequenceTableImage& image, const KnockSettings& knock,
                 int64_t now_us, std::string* err);
  /// Before a reload is tried: until EndReload the filter passes the union
  /// of the running table's windows and the reload's, either of which may
  /// be in use.
  bool BeginReload(const SequenceTableImage& image, const KnockSettings& knock,
                   int64_t now_us, std::string* err);
  /// Once the reload was taken (`taken`) or refused: the windows of the
  /// table in use.
  bool EndReload(bool taken, int64_t now_us, std::string* err);
  /// From the loop: swaps the filter when the windows passed at `now_us`
  /// are not the installed ones.
  bool OnTimer(int64_t now_us, std::string* err);
  /// When OnTimer next has something to do (INT64_MAX: never): the next
  /// change of the windows, or the retry of a failed swap.
  int64_t NextChangeUs(int64_t now_us) const;

  /// The time to give the calls above for the wall clock `now_us`: the
  /// latest one seen, until the pipeline counts another clock step
  /// (`clock_steps`, PipelineStats). The matcher's windows only go back on
  /// a step it detects; after a smaller step back it keeps accepting its
  /// later windows, and a filter following the wall clock would drop them.
  int64_t FollowedClockUs(int64_t now_us, uint64_t clock_steps);

  /// What the kernel passes now (empty while disabled): the whole range
  /// while a failed swap waits for its retry.
  const PortFilterSpec& installed() const { return installed_; }
  bool enabled() const { return enabled_; }
  /// Swaps to the exact filter the kernel refused (each fell back to the
  /// whole range), for the counters.
  uint64_t failed_swaps() const { return failed_swaps_; }
  /// True while the whole range is installed in place of a refused exact
  /// filter.
  bool degraded() const { return degraded_; }

 private:
  bool Install(int64_t now_us, std::string* err);
  /// After the exact filter was refused with `error`: installs the whole
  /// range; false (with `err`) when that is refused too.
  bool FallBack(int64_t now_us, const std::string& error, std::string* err);

  PacketSource* source_;
  bool enabled_;
  Logger* logger_;
  PortFilterWindows running_;
  std::unique_ptr<PortFilterWindows> reload_;
  PortFilterSpec installed_;
  /// The windows the installed spec was made of; `valid_` false after a
  /// failed swap, so that the next OnTimer tries again.
  WindowSpan installed_running_;
  WindowSpan installed_reload_;
  bool valid_ = false;
  /// The whole range stands in for a refused exact filter until
  /// retry_at_us_ or the next change of the windows.
  bool degraded_ = false;
  int64_t retry_at_us_ = 0;
  uint64_t failed_swaps_ = 0;
  /// The error last logged: a lasting one is logged once, not per retry.
  std::string logged_error_;
  int64_t followed_us_ = 0;
  uint64_t followed_steps_ = 0;
};

}  // namespace knock
