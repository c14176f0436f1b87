#include "knockd/sniffer/knock_pipeline.h"

#include <time.h>

#include <cinttypes>
#include <cstdio>

#include "common/clock.h"

namespace knock {

namespace {

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
  if (!matcher_.Reconfigure(*config, server_key, err)) return false;
  config_ = config;
  firewall_ = firewall;
  // Keep the drop counters across the new decoder.
  const DecodeStats& old = decoder_->stats();
  dropped_before_reload_.knocks += old.knocks;
  for (int i = 0; i < static_cast<int>(DropReason::kCount); ++i)
    dropped_before_reload_.dropped[i] += old.dropped[i];
  decoder_ = std::make_unique<PacketDecoder>(config->knock);
  return true;
}

void KnockPipeline::OnFrame(const Frame& frame) {
  ++stats_.frames;
  Knock knock;
  if (!decoder_->Decode(frame, &knock)) return;
  matcher_.AdvanceTo(knock.time_us);
  MatchEvent match;
  if (matcher_.OnKnock(knock, &match)) Handle(match);
}

void KnockPipeline::OnTimer(int64_t now_us) {
  matcher_.AdvanceTo(now_us);
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
      logger_->Event(LogLevel::kInfo,
                     std::string(VerdictName(match.verdict)) + " " + who +
                         which + " ports " + PortList(match.ports) + " until " +
                         FormatTimestampUs(match.expires_us),
                     OutcomeFields(event));
      break;
    case Verdict::kReplay:
      logger_->Event(LogLevel::kWarning,
                     "refused replay: " + who + which + ", first used by " +
                         match.first_source.ToString(),
                     OutcomeFields(event));
      break;
    case Verdict::kExpiredWindow:
      logger_->Event(LogLevel::kWarning,
                     "refused expired window: " + who + which,
                     OutcomeFields(event));
      break;
  }
  if (on_event_) on_event_(event);
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
          " evictions " + std::to_string(matcher_.sources().evictions());
  return line;
}

}  // namespace knock
