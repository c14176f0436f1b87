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
  if (valid_ && running_.WindowsAt(now_us) == installed_running_ &&
      (!reload_ || reload_->WindowsAt(now_us) == installed_reload_))
    return true;
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
  // The same ports (a roll the image does not reach yet) need no swap.
  if (valid_ && spec == installed_) {
    installed_running_ = running;
    installed_reload_ = reload;
    return true;
  }
  valid_ = false;
  if (!source_->SetPortFilter(spec, err)) return false;
  installed_ = std::move(spec);
  installed_running_ = running;
  installed_reload_ = reload;
  valid_ = true;
  return true;
}

}  // namespace knock
