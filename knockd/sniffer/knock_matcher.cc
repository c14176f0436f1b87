#include "knockd/sniffer/knock_matcher.h"

#include <malloc.h>

#include <algorithm>

#include "common/bound_sequence.h"

namespace knock {

namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int kMaxHistoryKnocks = 255;

bool AnyBound(const ServerConfig& config) {
  for (const ClientSettings& client : config.clients)
    for (const ServiceSettings& service : config.services)
      if (AllowsBound(client, service)) return true;
  return false;
}

// A bound sequence's tail (knock/v1 section 7) must still be in the history
// when its head completes, next to the slack.
int HistoryFor(const ServerConfig& config) {
  const int tail = AnyBound(config) ? BoundTailCount(config.knock.count) : 0;
  return std::min(config.knock.count + tail + config.knock.slack,
                  kMaxHistoryKnocks);
}

bool InHistory(std::span<const RememberedKnock> history, uint16_t port) {
  for (const RememberedKnock& k : history)
    if (k.port == port) return true;
  return false;
}

uint64_t PortBit(uint16_t port) { return uint64_t{1} << (port & 63); }

// One bit of 64 per port the history holds. A candidate's port whose bit is
// clear is certainly missing; only a set bit (a held port, or one sharing
// its bit) needs the scan of the history.
uint64_t PortBitsOf(std::span<const RememberedKnock> history) {
  uint64_t bits = 0;
  for (const RememberedKnock& k : history) bits |= PortBit(k.port);
  return bits;
}

}  // namespace

KnockMatcher::KnockMatcher(const ServerConfig& config, ReplayStore* store,
                           uint64_t hash_seed, EvictionPolicy eviction)
    : config_(&config),
      store_(store),
      hash_seed_(hash_seed),
      eviction_(eviction) {
  sources_ = std::make_unique<SourceTable>(
      config.knock.max_sources, HistoryFor(config), hash_seed_, eviction_);
}

bool KnockMatcher::Init(const PrivateKey& server_key, std::string* err) {
  const KnockProtocol protocol = config_->knock.protocol;
  accept_tcp_ = protocol != KnockProtocol::kUdp;
  accept_udp_ = protocol != KnockProtocol::kTcp;
  if (!table_.Init(*config_, server_key, err)) return false;
  ReleaseFreedHeap();
  return true;
}

void KnockMatcher::ReleaseFreedHeap() {
  // Parsing a configuration of 10,000 clients frees megabytes of small
  // blocks that glibc keeps resident (13 MB at 10,000 clients); the source
  // table about to grow to max_sources is better served by giving them back.
  malloc_trim(0);
}

void KnockMatcher::Adopt(SequenceTable table, uint64_t made_at_window) {
  const uint64_t window =
      table_.rolled() ? std::max(table_.current_window(), made_at_window)
                      : made_at_window;
  table_ = std::move(table);
  table_.RollTo(window);
}

bool KnockMatcher::LoadTable(SequenceTableImage image, std::string* err) {
  const KnockProtocol protocol = config_->knock.protocol;
  accept_tcp_ = protocol != KnockProtocol::kUdp;
  accept_udp_ = protocol != KnockProtocol::kTcp;
  const uint64_t made_at = image.center_window;
  SequenceTable table;
  if (!table.Load(*config_, std::move(image), err)) return false;
  Adopt(std::move(table), made_at);
  // The image's bytes and the old table (megabytes at 10,000 clients) were
  // just freed; glibc would keep them resident.
  ReleaseFreedHeap();
  return true;
}

bool KnockMatcher::Reconfigure(const ServerConfig& config,
                               SequenceTableImage image, std::string* err) {
  const uint64_t made_at = image.center_window;
  SequenceTable table;
  if (!table.Load(config, std::move(image), err)) return false;
  Adopt(std::move(table), made_at);
  AdoptConfig(config);
  return true;
}

bool KnockMatcher::Reconfigure(const ServerConfig& config,
                               const PrivateKey& server_key, std::string* err) {
  SequenceTable table;
  if (!table.Init(config, server_key, err)) return false;
  const uint64_t window = table_.current_window();
  table_ = std::move(table);
  table_.RollTo(window);
  AdoptConfig(config);
  return true;
}

void KnockMatcher::AdoptConfig(const ServerConfig& config) {
  const KnockSettings& before = config_->knock;
  const KnockSettings& after = config.knock;
  // Progress in flight is kept unless its shape changed under it.
  if (before.max_sources != after.max_sources ||
      HistoryFor(*config_) != HistoryFor(config) ||
      !(before.ports == after.ports))
    sources_ = std::make_unique<SourceTable>(
        after.max_sources, HistoryFor(config), hash_seed_, eviction_);
  config_ = &config;
  accept_tcp_ = after.protocol != KnockProtocol::kUdp;
  accept_udp_ = after.protocol != KnockProtocol::kTcp;
  ReleaseFreedHeap();
}

bool KnockMatcher::AdvanceTo(int64_t now_us) {
  const uint64_t window =
      WindowAt(now_us / kMicrosPerSecond, config_->knock.step_seconds);
  // Time only moves forward here: frames from several interfaces may arrive
  // a little out of order, and rolling back would re-derive for nothing.
  if (table_.rolled() && window <= table_.current_window()) return false;
  if (!table_.RollTo(window)) return false;
  const uint64_t skew = static_cast<uint64_t>(config_->knock.skew);
  store_->PruneBefore(window > skew ? window - skew : 0,
                      config_->knock.step_seconds);
  forward_limit_.PruneBefore(window > skew ? window - skew : 0);
  return true;
}

bool KnockMatcher::RollToClock(int64_t now_us) {
  const uint64_t window =
      WindowAt(now_us / kMicrosPerSecond, config_->knock.step_seconds);
  if (table_.rolled() && window == table_.current_window()) return false;
  const bool forward = !table_.rolled() || window > table_.current_window();
  table_.RollTo(window);
  const uint64_t skew = static_cast<uint64_t>(config_->knock.skew);
  if (forward) {
    store_->PruneBefore(window > skew ? window - skew : 0,
                        config_->knock.step_seconds);
    forward_limit_.PruneBefore(window > skew ? window - skew : 0);
  }
  return true;
}

void KnockMatcher::ForgetIdleSources(int64_t now_us) {
  sources_->RemoveIdle(ToTableMs(now_us),
                       static_cast<uint32_t>(config_->knock.seq_timeout_ms));
}

uint32_t KnockMatcher::ToTableMs(int64_t time_us) const {
  // Wrapping milliseconds: only differences within seq_timeout matter.
  return static_cast<uint32_t>(time_us / 1000);
}

int KnockMatcher::FindComplete(std::span<const RememberedKnock> history,
                               uint16_t port, int* best_progress) const {
  const SequenceIds candidates = table_.SequencesWith(port);
  // Every candidate holds `port`, which the history just took.
  if (!candidates.empty()) *best_progress = std::max(*best_progress, 1);
  // A sequence's ports are distinct, so none has more of them in the
  // history than the history has knocks.
  const int known = static_cast<int>(history.size());
  const uint64_t held_bits = PortBitsOf(history);
  for (uint32_t id : candidates) {
    const std::span<const uint16_t> ports = table_.Ports(id);
    const int total = static_cast<int>(ports.size());
    // Every sequence of the table is `count` long: once one holds as many
    // of the history as it has, and that is too few to complete, no later
    // candidate can complete or raise the level. Under a flood from
    // spoofed sources each source has one knock, and with 10,000 clients
    // about a hundred candidates per port were each a cache miss.
    if (known < total && *best_progress >= known) return -1;
    int present = 0;
    int missing = 0;
    for (uint16_t p : ports) {
      // The knock's own port is the history's newest, at the end of a scan.
      if (p == port ||
          ((held_bits & PortBit(p)) != 0 && InHistory(history, p))) {
        ++present;
        continue;
      }
      ++missing;
      // Stop once this sequence can neither complete nor raise the level:
      // most candidates end here after a port or two.
      if (total - missing <= *best_progress) break;
    }
    *best_progress = std::max(*best_progress, present);
    if (missing == 0) return static_cast<int>(id);
  }
  return -1;
}

bool KnockMatcher::OnKnock(const Knock& knock, MatchEvent* event) {
  if (knock.transport == Transport::kTcp ? !accept_tcp_ : !accept_udp_)
    return false;
  ++stats_.knocks;
  SourceTable& sources = *sources_;
  const uint32_t now_ms = ToTableMs(knock.time_us);
  const auto timeout_ms = static_cast<uint32_t>(config_->knock.seq_timeout_ms);
  uint32_t id = sources.Find(knock.source);
  const bool on_some_sequence = !table_.SequencesWith(knock.port).empty();
  if (id == SourceTable::kNone) {
    // A source seen only on ports no sequence uses cannot be making
    // progress; tracking it would only let a spray fill the table.
    if (!on_some_sequence) {
      ++stats_.noise_ignored;
      return false;
    }
    id = sources.Insert(knock.source, now_ms, timeout_ms);
  }
  const bool forgot = sources.ForgetOlderThan(id, now_ms, timeout_ms);
  std::span<const RememberedKnock> history = sources.History(id);
  if (!history.empty() && history.back().port == knock.port) {
    ++stats_.duplicates_ignored;
    return false;
  }
  sources.Append(id, knock.port, now_ms);
  history = sources.History(id);

  // The level only ever rises while the history is intact; it is measured
  // afresh once knocks it was based on have been forgotten.
  int progress = forgot ? 0 : sources.LevelOf(id);
  const int complete =
      on_some_sequence ? FindComplete(history, knock.port, &progress) : -1;
  if (complete < 0) {
    sources.Touch(id, progress);
    return false;
  }
  // Its knocks are spent: the same packets must not complete anything again.
  // The rest stay, since another client behind the same NAT address may be
  // halfway through its own sequence.
  const ExpectedSequence sequence =
      table_.sequence(static_cast<uint32_t>(complete));
  // A bound head's evidence is also every other knock of the source: the
  // helper looks for the tail among them.
  std::vector<uint16_t> others;
  uint32_t sequence_age_ms = 0;
  for (const RememberedKnock& k : sources.History(id)) {
    const bool in_head = std::find(sequence.ports.begin(), sequence.ports.end(),
                                   k.port) != sequence.ports.end();
    if (!in_head && sequence.owner.bound) others.push_back(k.port);
    // 16-bit times wrap; a history is younger than seq_timeout.
    if (in_head)
      sequence_age_ms = std::max<uint32_t>(
          sequence_age_ms, static_cast<uint16_t>(now_ms - k.time_ms16));
  }
  const int64_t started_us =
      knock.time_us - static_cast<int64_t>(sequence_age_ms) * 1000;
  sources.ForgetPorts(id, sequence.ports);
  if (sources.History(id).empty()) {
    sources.Remove(id);
  } else {
    sources.Touch(id, 0);
  }
  ++stats_.sequences_completed;
  if (!Decide(knock, sequence, started_us, event)) {
    ++stats_.grants_held_back;
    return false;
  }
  const size_t room = kMaxBoundPorts - event->ports.size();
  event->ports.insert(event->ports.end(), others.begin(),
                      others.begin() + std::min(room, others.size()));
  return true;
}

bool KnockMatcher::Decide(const Knock& knock, const ExpectedSequence& sequence,
                          int64_t started_us, MatchEvent* event) {
  event->source = knock.source;
  event->first_source = knock.source;
  event->owner = sequence.owner;
  event->ports.assign(sequence.ports.begin(), sequence.ports.end());
  event->time_us = knock.time_us;
  event->expires_us = 0;
  if (sequence.expired) {
    event->verdict = Verdict::kExpiredWindow;
    ++stats_.expired;
    return true;
  }
  const ClientSettings& client = config_->clients[sequence.owner.client];
  const ServiceSettings& service = config_->services[sequence.owner.service];
  const UsedKey key{client.public_key, service.name, sequence.owner.window,
                    sequence.owner.slot};
  if (sequence.owner.bound) {
    // Only the helper can tell the client's bound sequence from a copy
    // raced from another address: recording the first source here would
    // let a racer's refused copy lock the client out. The helper's used set
    // decides, and records only what it opened. Copies beyond the limit
    // are counted as replays of the first source's.
    if (!forward_limit_.Admit(key, knock.source, knock.time_us, started_us)) {
      event->verdict = Verdict::kReplay;
      ++stats_.replays;
      return true;
    }
    event->verdict = Verdict::kGranted;
    event->expires_us = knock.time_us + service.open_for_ms * 1000;
    ++stats_.grants;
    return true;
  }
  const UsedEntry* used = nullptr;
  const UseDecision decision =
      store_->Use(key, config_->knock.step_seconds, knock.source, knock.time_us,
                  service.open_for_ms * 1000, &used);
  if (decision == UseDecision::kForgotten) {
    // Its window was pruned before the clock went back: it may have been
    // used, so it counts as expired, as it would have been before the step.
    event->verdict = Verdict::kExpiredWindow;
    ++stats_.expired;
    return true;
  }
  event->first_source = used->first_source;
  switch (decision) {
    case UseDecision::kFirstUse:
      forward_limit_.Admit(key, knock.source, knock.time_us, started_us);
      event->verdict = Verdict::kGranted;
      event->expires_us = used->grant_expires_us;
      ++stats_.grants;
      break;
    case UseDecision::kRefresh:
      // The hole stays open meanwhile; a second's extension is not worth
      // a grant request per replayed packet.
      if (!forward_limit_.Admit(key, knock.source, knock.time_us, started_us))
        return false;
      event->verdict = Verdict::kRefreshed;
      event->expires_us = used->grant_expires_us;
      ++stats_.refreshes;
      break;
    case UseDecision::kReplay:
    case UseDecision::kForgotten:
      event->verdict = Verdict::kReplay;
      ++stats_.replays;
      break;
  }
  return true;
}

}  // namespace knock
