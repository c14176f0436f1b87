#include "knockd/sniffer/capture_port_filter.h"

#include <algorithm>
#include <limits>

namespace knock {

bool CapturePortFilter::TakeTable(const SequenceTableImage& image,
                                  const KnockSettings& knock, int64_t now_us,
                                  std::string* err) {
  if (!enabled_) return true;
  running_.Take(image, knock);
  return Install(now_us, err);
}

bool CapturePortFilter::BeginReload(const SequenceTableImage& image,
                                    const KnockSettings& knock, int64_t now_us,
                                    std::string* err) {
  if (!enabled_) return true;
  reload_ = std::make_unique<PortFilterWindows>();
  reload_->Take(image, knock);
  return Install(now_us, err);
}

bool CapturePortFilter::EndReload(bool taken, int64_t now_us,
                                  std::string* err) {
  if (!enabled_) return true;
  if (taken && reload_) running_ = std::move(*reload_);
  reload_.reset();
  return Install(now_us, err);
}

bool CapturePortFilter::OnTimer(int64_t now_us, std::string* err) {
  if (!enabled_ || running_.empty()) return true;
  const bool same_windows =
      running_.WindowsAt(now_us) == installed_running_ &&
      (!reload_ || reload_->WindowsAt(now_us) == installed_reload_);
  if (valid_ && same_windows) return true;
  // The whole range passes meanwhile: nothing is lost by waiting for the
  // retry, and a lasting error is not retried at every wake-up.
  if (degraded_ && same_windows && now_us < retry_at_us_) return true;
  return Install(now_us, err);
}

int64_t CapturePortFilter::FollowedClockUs(int64_t now_us,
                                           uint64_t clock_steps) {
  if (clock_steps != followed_steps_) {
    followed_steps_ = clock_steps;
    followed_us_ = now_us;
  } else {
    followed_us_ = std::max(followed_us_, now_us);
  }
  return followed_us_;
}

int64_t CapturePortFilter::NextChangeUs(int64_t now_us) const {
  if (!enabled_ || running_.empty()) return std::numeric_limits<int64_t>::max();
  int64_t next = running_.NextChangeUs(now_us);
  if (reload_) next = std::min(next, reload_->NextChangeUs(now_us));
  if (degraded_) next = std::min(next, retry_at_us_);
  return next;
}

bool CapturePortFilter::Install(int64_t now_us, std::string* err) {
  const WindowSpan running = running_.WindowsAt(now_us);
  PortFilterSpec spec = running_.SpecOf(running);
  WindowSpan reload;
  if (reload_) {
    reload = reload_->WindowsAt(now_us);
    spec = UnionOf(spec, reload_->SpecOf(reload));
  }
  // The windows the filter is now for: OnTimer swaps (or retries a failed
  // swap) when they change, or after kSwapRetryUs.
  installed_running_ = running;
  installed_reload_ = reload;
  // The same ports (a roll the image does not reach yet) need no swap.
  if (valid_ && spec == installed_) return true;
  valid_ = false;
  std::string error;
  if (!source_->SetPortFilter(spec, &error))
    return FallBack(now_us, error, err);
  installed_ = std::move(spec);
  valid_ = true;
  if (degraded_)
    logger_->Info("capture filter: the exact filter is installed again");
  degraded_ = false;
  logged_error_.clear();
  return true;
}

bool CapturePortFilter::FallBack(int64_t now_us, const std::string& error,
                                 std::string* err) {
  ++failed_swaps_;
  // Whatever the failed swap left on each capture (its old filter, or the
  // new one on some), the whole range passes every port a window may use.
  PortFilterSpec whole = running_.WholeRange();
  if (reload_) whole = UnionOf(whole, reload_->WholeRange());
  std::string whole_error;
  if (!source_->SetPortFilter(whole, &whole_error)) {
    *err = error + "; the whole knock range was refused too: " + whole_error;
    return false;
  }
  installed_ = std::move(whole);
  degraded_ = true;
  retry_at_us_ = now_us + kSwapRetryUs;
  if (error != logged_error_) {
    logger_->Warning("capture filter: the exact filter was refused (\"" +
                     error +
                     "\"); the whole knock range passes until it installs, "
                     "tried again within " +
                     std::to_string(kSwapRetryUs / 1000000) + " s");
    logged_error_ = error;
  }
  return true;
}

}  // namespace knock
