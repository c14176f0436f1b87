#pragma once
// Everything between a captured frame and the firewall: decode, match,
// decide, enforce and log. `knockd run` feeds it live frames and a timer;
// `knockd replay` feeds it a capture file with no firewall.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "knockd/shared/firewall.h"
#include "knockd/shared/logger.h"
#include "knockd/shared/replay_store.h"
#include "knockd/shared/server_config.h"
#include "knockd/sniffer/capture_clock.h"
#include "knockd/sniffer/clock_step_detector.h"
#include "knockd/sniffer/knock_matcher.h"
#include "knockd/sniffer/packet_decoder.h"
#include "knockd/sniffer/packet_source.h"

namespace knock {

/// Counters of a pipeline's life, for the exit summary and `knockd replay`.
struct PipelineStats {
  uint64_t frames = 0;
  uint64_t firewall_errors = 0;
  uint64_t store_errors = 0;
  /// Steps of the clock that moves the windows (the system's, or the
  /// capture's), each logged once.
  uint64_t clock_steps = 0;
};

/// Decodes frames, matches knocks and enforces the verdicts.
class KnockPipeline {
 public:
  using EventHandler = std::function<void(const KnockOutcome&)>;

  /// `config`, `firewall`, `store` and `logger` must outlive the pipeline.
  KnockPipeline(const ServerConfig* config, Firewall* firewall,
                ReplayStore* store, Logger* logger, uint64_t hash_seed);

  bool Init(const PrivateKey& server_key, std::string* err);
  /// Switches to a reloaded configuration and its firewall; per-source
  /// progress and the replay store carry over. On failure nothing changed.
  bool Reconfigure(const ServerConfig* config, Firewall* firewall,
                   const PrivateKey& server_key, std::string* err);
  /// The same with the helper's port tables instead of a key.
  bool Reconfigure(const ServerConfig* config, Firewall* firewall,
                   SequenceTableImage image, std::string* err);
  /// Takes the helper's port tables: the first before any frame, then one
  /// whenever the helper's windows roll.
  bool LoadTable(SequenceTableImage image, std::string* err) {
    FlushFrames();
    return matcher_.LoadTable(std::move(image), err);
  }
  /// False where the firewall only forwards grants (the sniffer): the
  /// process that opens the hole writes the line.
  void set_log_grants(bool log_grants) { log_grants_ = log_grants; }
  void set_event_handler(EventHandler handler) {
    on_event_ = std::move(handler);
  }

  /// Live capture: the system clock (OnClock), not frame stamps, moves the
  /// windows; a frame may only nudge them forward when its stamp is within
  /// a step of the clock. Otherwise (a capture file) the frames' stamps
  /// move them, through a CaptureClock.
  void set_live_clock(bool live) { live_clock_ = live; }

  /// How often OnTimer lets idle sources go, however often it is called.
  static constexpr int64_t kIdleSweepPeriodUs = 1000000;

  /// How many knocks QueueFrame holds before matching them.
  static constexpr size_t kBatchKnocks = 16;

  /// Decodes and matches one frame at once: QueueFrame, then FlushFrames.
  void OnFrame(const Frame& frame);
  /// Decodes `frame` and holds its knock; every kBatchKnocks knocks the
  /// batch is matched. The caller ends each delivery of frames (one
  /// Dispatch) with FlushFrames, so no knock waits for a later frame.
  /// Batching lets the knocks' lookups overlap: the source table's cache
  /// lines of a whole batch are prefetched before the first is matched.
  /// The knocks are matched one by one, in the order they came, exactly as
  /// OnFrame would match them.
  void QueueFrame(const Frame& frame);
  /// Matches the knocks QueueFrame holds, in order.
  void FlushFrames();
  /// Rolls windows and lets the firewall close holes; call at least once a
  /// second with the wall time (more often costs little).
  void OnTimer(int64_t now_us);
  /// OnTimer for live capture: also notices a step of the wall clock
  /// against the monotonic one, logs it once and centres the windows on
  /// the wall clock, backward too.
  void OnClock(int64_t realtime_us, int64_t monotonic_us);

  const PipelineStats& stats() const { return stats_; }
  const DecodeStats& decode_stats() const { return decoder_->stats(); }
  const MatcherStats& matcher_stats() const { return matcher_.stats(); }
  uint32_t sources() const { return matcher_.sources().size(); }
  uint64_t evictions() const { return matcher_.sources().evictions(); }
  /// A one-line summary of every counter, for logs and `knockd replay`.
  std::string CountersLine() const;

 private:
  void Handle(const MatchEvent& match);
  void Enforce(const MatchEvent& match, KnockOutcome* event);
  void Save();
  void Match(const Knock& knock);
  /// What OnFrame did with a decoded knock: moves the windows, matches.
  void Follow(const Knock& knock);
  /// Live: advances the windows for a knock stamped `time_us` if near the
  /// clock.
  void FollowLiveFrame(int64_t time_us);
  /// A capture: moves the windows with the capture's clock and matches
  /// `knock`, holding it while it is far from the clock.
  void FollowCapture(const Knock& knock);
  void OnStep(int64_t jump_us, const char* clock, int64_t now_us);
  /// True while refusals of the second of `time_us` may still be logged
  /// one by one; says how many were not, once their second is over.
  bool MayLogRefusal(int64_t time_us);
  /// Switches to `config` after the matcher took it.
  void SwapConfig(const ServerConfig* config, Firewall* firewall);

  const ServerConfig* config_;
  Firewall* firewall_;
  ReplayStore* store_;
  Logger* logger_;
  std::unique_ptr<PacketDecoder> decoder_;
  KnockMatcher matcher_;
  EventHandler on_event_;
  bool log_grants_ = true;
  PipelineStats stats_;
  DecodeStats dropped_before_reload_;
  bool live_clock_ = false;
  int64_t clock_us_ = 0;
  /// When OnTimer next sweeps idle sources (0: at its first call).
  int64_t next_idle_sweep_us_ = 0;
  ClockStepDetector step_detector_;
  CaptureClock capture_clock_;
  /// Where OnKnock reports a completed sequence, reused for every knock.
  MatchEvent match_event_;
  /// Knocks decoded by QueueFrame, not yet matched, oldest first.
  std::array<Knock, kBatchKnocks> batch_;
  /// Each held knock's source hash, computed once for both prefetches.
  std::array<size_t, kBatchKnocks> batch_hashes_;
  size_t batch_size_ = 0;
  /// Knocks far from the capture's clock, waiting for its verdict.
  std::vector<Knock> held_;
  int64_t refusal_log_second_ = 0;
  uint64_t refusal_lines_ = 0;
  uint64_t refusal_lines_skipped_ = 0;
};

}  // namespace knock
