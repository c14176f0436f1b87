#include "knockd/shared/knock_outcome.h"

namespace knock {

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kGranted:
      return "granted";
    case Verdict::kRefreshed:
      return "refreshed";
    case Verdict::kReplay:
      return "replay";
    case Verdict::kExpiredWindow:
      return "expired_window";
  }
  return "unknown";
}

}  // namespace knock
