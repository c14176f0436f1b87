#include "knockd/sniffer/capture_drain.h"

namespace knock {

bool DrainCapture(PacketSource* source, KnockPipeline* pipeline,
                  DrainResult* result, std::string* err) {
  const uint64_t frames_before = pipeline->stats().frames;
  result->cut = false;
  const bool ok = source->DispatchAtMost(
      [pipeline](const Frame& frame) { pipeline->QueueFrame(frame); },
      kDrainFramesPerCapture, &result->cut, err);
  pipeline->FlushFrames();
  result->frames = pipeline->stats().frames - frames_before;
  return ok;
}

}  // namespace knock
