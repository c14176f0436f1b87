#include "knockd/sniffer/knock_pipeline.h"

#include <time.h>

#include <cinttypes>
#include <cstdio>

#include "common/clock.h"

namespace knock {

namespace {

constexpr int64_t kMicrosPerSecond = 1000000;

// A replay flood must not become a log flood: past this many refusal lines
// in one second the rest are only counted (the audit log has them summed).
constexpr uint64_t kMaxRefusalLinesPerSecond = 10;

int64_t Distance(int64_t a, int64_t b) { return a > b ? a - b : b - a; }

std::string PortList(const std::vector<uint16_t>& ports) {
  std::string text;
  for (uint16_t port : ports) {
    if (!text.empty()) text += ',';
    text += std::to_string(port);
  }
  return text;
}

}  // namespace

KnockPipeline::KnockPipeline(const ServerConfig* config, Firewall* firewall,
                             ReplayStore* store, Logger* logger,
                             uint64_t hash_seed)
    : config_(config),
      firewall_(firewall),
      store_(store),
      logger_(logger),
      decoder_(std::make_unique<PacketDecoder>(config->knock)),
      matcher_(*config, store, hash_seed) {}

bool KnockPipeline::Init(const PrivateKey& server_key, std::string* err) {
  return matcher_.Init(server_key, err);
}

bool KnockPipeline::Reconfigure(const ServerConfig* config, Firewall* firewall,
                                const PrivateKey& server_key,
                                std::string* err) {
  // Knocks that came before the reload are matched as they came.
  FlushFrames();
  if (!matcher_.Reconfigure(*config, server_key, err)) return false;
  SwapConfig(config, firewall);
  return true;
}

bool KnockPipeline::Reconfigure(const ServerConfig* config, Firewall* firewall,
                                SequenceTableImage image, std::string* err) {
  FlushFrames();
  if (!matcher_.Reconfigure(*config, std::move(image), err)) return false;
  SwapConfig(config, firewall);
  return true;
}

void KnockPipeline::SwapConfig(const ServerConfig* config, Firewall* firewall) {
  config_ = config;
  firewall_ = firewall;
  // Keep the drop counters across the new decoder.
  const DecodeStats& old = decoder_->stats();
  dropped_before_reload_.knocks += old.knocks;
  for (int i = 0; i < static_cast<int>(DropReason::kCount); ++i)
    dropped_before_reload_.dropped[i] += old.dropped[i];
  decoder_ = std::make_unique<PacketDecoder>(config->knock);
}

void KnockPipeline::OnFrame(const Frame& frame) {
  QueueFrame(frame);
  FlushFrames();
}

void KnockPipeline::QueueFrame(const Frame& frame) {
  ++stats_.frames;
  Knock knock;
  if (!decoder_->Decode(frame, &knock)) return;
  // The first lines of each lookup are asked for as the knock is queued:
  // by the time its batch is matched, the frames decoded meanwhile have
  // hidden their latency (asked for at the flush, the first of them came
  // too late for the pass that needs them).
  const size_t hash = matcher_.sources().Hash(knock.source);
  matcher_.sources().PrefetchBucket(hash);
  matcher_.table().PrefetchOffsets(knock.port);
  batch_hashes_[batch_size_] = hash;
  batch_[batch_size_++] = knock;
  if (batch_size_ == kBatchKnocks) FlushFrames();
}

void KnockPipeline::FlushFrames() {
  const size_t count = batch_size_;
  batch_size_ = 0;
  const SourceTable& sources = matcher_.sources();
  const SequenceTable& table = matcher_.table();
  // A random-source flood misses the cache at each of a knock's bucket,
  // record and history, and at the port's entries in the sequence index;
  // one after the other that was most of a frame's cost. Asked for a batch
  // at a time, the misses overlap: QueueFrame asked for the first line of
  // each chain, a pass here for what it names, and so on.
  for (size_t i = 0; i < count; ++i) {
    sources.PrefetchSource(batch_hashes_[i]);
    table.PrefetchIds(batch_[i].port);
  }
  for (size_t i = 0; i < count; ++i) table.PrefetchPortsWith(batch_[i].port);
  for (size_t i = 0; i < count; ++i) Follow(batch_[i]);
}

void KnockPipeline::Follow(const Knock& knock) {
  if (live_clock_) {
    FollowLiveFrame(knock.time_us);
    Match(knock);
    return;
  }
  FollowCapture(knock);
}

void KnockPipeline::Match(const Knock& knock) {
  // One event for every knock: a flood matches millions that complete
  // nothing, and making and unmaking an event for each showed in its
  // profile. OnKnock sets every field of the events it returns.
  if (matcher_.OnKnock(knock, &match_event_)) Handle(match_event_);
}

void KnockPipeline::FollowLiveFrame(int64_t time_us) {
  // A boundary crossed since the last tick; a stamp far from the clock
  // (frames queued across a clock step) moves nothing.
  if (clock_us_ != 0 && Distance(time_us, clock_us_) <=
                            config_->knock.step_seconds * kMicrosPerSecond)
    matcher_.AdvanceTo(time_us);
}

void KnockPipeline::FollowCapture(const Knock& knock) {
  int64_t jump_us = 0;
  const int64_t now_us = capture_clock_.Observe(
      knock.time_us, config_->knock.step_seconds * kMicrosPerSecond, &jump_us);
  if (jump_us != 0) {
    matcher_.RollToClock(now_us);
    OnStep(jump_us, "the capture's clock", now_us);
  } else if (capture_clock_.pending()) {
    // Far from the clock: it waits for the frames after it to say whether
    // the capture's clock stepped (then it belongs to the new windows) or
    // not (then it is matched against the current ones).
    if (held_.size() + 1 >= CaptureClock::kConfirmFrames) {
      Match(held_.front());
      held_.erase(held_.begin());
    }
    held_.push_back(knock);
    return;
  } else if (matcher_.AdvanceTo(now_us)) {
    // A capture has no timer: idle sources go as its windows roll.
    matcher_.ForgetIdleSources(now_us);
  }
  for (const Knock& earlier : held_) Match(earlier);
  held_.clear();
  Match(knock);
}

void KnockPipeline::OnStep(int64_t jump_us, const char* clock, int64_t now_us) {
  ++stats_.clock_steps;
  char seconds[32];
  snprintf(
      seconds, sizeof seconds, "%.3f",
      static_cast<double>(jump_us < 0 ? -jump_us : jump_us) / kMicrosPerSecond);
  logger_->Warning(std::string(clock) + " stepped " +
                   (jump_us < 0 ? "back" : "forward") + " by " + seconds +
                   " s to " + FormatTimestampUs(now_us) +
                   ": knock windows rebuilt around window " +
                   std::to_string(matcher_.table().current_window()));
}

void KnockPipeline::OnClock(int64_t realtime_us, int64_t monotonic_us) {
  // Knocks that came before this tick are matched before it.
  FlushFrames();
  clock_us_ = realtime_us;
  const int64_t jump_us =
      step_detector_.Observe(realtime_us, monotonic_us,
                             config_->knock.step_seconds * kMicrosPerSecond);
  if (jump_us != 0) {
    matcher_.RollToClock(realtime_us);
    OnStep(jump_us, "the system clock", realtime_us);
  }
  OnTimer(realtime_us);
}

void KnockPipeline::OnTimer(int64_t now_us) {
  FlushFrames();
  matcher_.AdvanceTo(now_us);
  // The sweep walks every young source: the live loop ticks at each
  // wake-up, thousands of times a second under a flood, and sweeping at
  // each made it the daemon's main cost there. An idle source only holds
  // memory and a place the table gives up first anyway, so a second late
  // is harmless. A clock set back sweeps at once.
  if (now_us >= next_idle_sweep_us_ ||
      now_us < next_idle_sweep_us_ - kIdleSweepPeriodUs) {
    next_idle_sweep_us_ = now_us + kIdleSweepPeriodUs;
    matcher_.ForgetIdleSources(now_us);
  }
  firewall_->Tick(now_us / 1000);
  for (const std::string& err : firewall_->TakeErrors()) {
    ++stats_.firewall_errors;
    logger_->Error("firewall (" + std::string(firewall_->Name()) + "): " + err);
  }
}

void KnockPipeline::Handle(const MatchEvent& match) {
  KnockOutcome event;
  event.match = match;
  event.client = config_->clients[match.owner.client].name;
  event.service = config_->services[match.owner.service].name;
  const std::string who = "client " + event.client + " service " +
                          event.service + " from " + match.source.ToString();
  const std::string which = " (window " + std::to_string(match.owner.window) +
                            " slot " + std::to_string(match.owner.slot) + ")";
  switch (match.verdict) {
    case Verdict::kGranted:
    case Verdict::kRefreshed:
      // The used set is written before the hole opens: a crash in between
      // must not let the same sequence open twice after a restart.
      Save();
      Enforce(match, &event);
      if (log_grants_)
        logger_->Event(LogLevel::kInfo,
                       std::string(VerdictName(match.verdict)) + " " + who +
                           which + " ports " + PortList(match.ports) +
                           " until " + FormatTimestampUs(match.expires_us),
                       OutcomeFields(event));
      break;
    case Verdict::kReplay:
      if (!MayLogRefusal(match.time_us)) break;
      logger_->Event(LogLevel::kWarning,
                     "refused replay: " + who + which + ", first used by " +
                         match.first_source.ToString(),
                     OutcomeFields(event));
      break;
    case Verdict::kExpiredWindow:
      if (!MayLogRefusal(match.time_us)) break;
      logger_->Event(LogLevel::kWarning,
                     "refused expired window: " + who + which,
                     OutcomeFields(event));
      break;
  }
  if (on_event_) on_event_(event);
}

bool KnockPipeline::MayLogRefusal(int64_t time_us) {
  const int64_t second = time_us / kMicrosPerSecond;
  if (second != refusal_log_second_) {
    if (refusal_lines_skipped_ > 0)
      logger_->Warning("refused " + std::to_string(refusal_lines_skipped_) +
                       " more sequences in one second, not logged one by one");
    refusal_log_second_ = second;
    refusal_lines_ = 0;
    refusal_lines_skipped_ = 0;
  }
  if (refusal_lines_ < kMaxRefusalLinesPerSecond) {
    ++refusal_lines_;
    return true;
  }
  ++refusal_lines_skipped_;
  return false;
}

void KnockPipeline::Enforce(const MatchEvent& match, KnockOutcome* event) {
  const ServiceSettings& service = config_->services[match.owner.service];
  Grant grant;
  grant.source = match.source;
  grant.ports = service.ports;
  grant.timeout_ms = service.open_for_ms;
  grant.client = event->client;
  grant.service = event->service;
  grant.owner = match.owner;
  grant.sequence_ports = match.ports;
  std::string err;
  if (!firewall_->Open(grant, &err)) {
    ++stats_.firewall_errors;
    event->enforced = false;
    logger_->Error("firewall (" + std::string(firewall_->Name()) +
                   ") could not open for " + match.source.ToString() + ": " +
                   err);
  }
}

void KnockPipeline::Save() {
  std::string err;
  if (!store_->Save(&err)) {
    ++stats_.store_errors;
    logger_->Error(err);
  }
}

std::string KnockPipeline::CountersLine() const {
  const MatcherStats& m = matcher_.stats();
  DecodeStats d = decoder_->stats();
  d.knocks += dropped_before_reload_.knocks;
  std::string line = "frames " + std::to_string(stats_.frames) + " knocks " +
                     std::to_string(d.knocks);
  for (int i = 0; i < static_cast<int>(DropReason::kCount); ++i) {
    line += std::string(" ") + DropReasonName(static_cast<DropReason>(i)) +
            " " +
            std::to_string(d.dropped[i] + dropped_before_reload_.dropped[i]);
  }
  line += " duplicates " + std::to_string(m.duplicates_ignored) + " grants " +
          std::to_string(m.grants) + " refreshes " +
          std::to_string(m.refreshes) + " replays " +
          std::to_string(m.replays) + " expired " + std::to_string(m.expired) +
          " sources " + std::to_string(matcher_.sources().size()) +
          " evictions " + std::to_string(matcher_.sources().evictions()) +
          " idle_removed " +
          std::to_string(matcher_.sources().idle_removals()) + " clock_steps " +
          std::to_string(stats_.clock_steps) + " far_frames " +
          std::to_string(capture_clock_.far_frames());
  return line;
}

}  // namespace knock
