#pragma once
// Everything between a captured frame and the firewall: decode, match,
// decide, enforce and log. `knockd run` feeds it live frames and a timer;
// `knockd replay` feeds it a capture file with no firewall.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "knockd/shared/firewall.h"
#include "knockd/shared/logger.h"
#include "knockd/shared/replay_store.h"
#include "knockd/shared/server_config.h"
#include "knockd/sniffer/knock_matcher.h"
#include "knockd/sniffer/packet_decoder.h"
#include "knockd/sniffer/packet_source.h"

namespace knock {

/// Counters of a pipeline's life, for the exit summary and `knockd replay`.
struct PipelineStats {
  uint64_t frames = 0;
  uint64_t firewall_errors = 0;
  uint64_t store_errors = 0;
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
  void set_event_handler(EventHandler handler) {
    on_event_ = std::move(handler);
  }

  void OnFrame(const Frame& frame);
  /// Rolls windows and lets the firewall close holes; call about once a
  /// second with the wall time.
  void OnTimer(int64_t now_us);

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

  const ServerConfig* config_;
  Firewall* firewall_;
  ReplayStore* store_;
  Logger* logger_;
  std::unique_ptr<PacketDecoder> decoder_;
  KnockMatcher matcher_;
  EventHandler on_event_;
  PipelineStats stats_;
  DecodeStats dropped_before_reload_;
};

}  // namespace knock
