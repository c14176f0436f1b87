// The matcher against the behaviours knock/v1 promises and knockd 0.8 lacks:
// reordering, duplicates, noise, sweeps, spoofed interference, replays,
// window edges and floods. No root, no network: knocks are made by hand.
#include <catch2/catch.hpp>
#include <optional>
#include <random>

#include "common/bound_sequence.h"
#include "knockd/client_sequence.h"
#include "knockd/sniffer/knock_matcher.h"

namespace {

constexpr int64_t kStepSeconds = 30;
constexpr int64_t kT0Us = int64_t{1800000000} * 1000000;  // a window start

knock::IpAddress Addr(const char* text) {
  knock::IpAddress address;
  std::string err;
  REQUIRE(knock::IpAddress::Parse(text, &address, &err));
  return address;
}

/// A server with two clients and two services, and the client side's view
/// of the sequences it may knock.
struct Fixture {
  knock::PrivateKey server_key = knock::PrivateKey::Generate();
  knock::PrivateKey alice_key = knock::PrivateKey::Generate();
  knock::PrivateKey bob_key = knock::PrivateKey::Generate();
  knock::ServerConfig config;
  knock::ReplayStore store;
  std::unique_ptr<knock::KnockMatcher> matcher;

  /// `more_clients` are added with fresh keys and service ssh, as on a
  /// server with many users; `eviction` is the source table's policy.
  explicit Fixture(uint32_t max_sources = 1024, int more_clients = 0,
                   knock::EvictionPolicy eviction = {}) {
    config.knock.ports = {16384, 32767};
    config.knock.count = 8;
    config.knock.step_seconds = kStepSeconds;
    config.knock.skew = 1;
    config.knock.slots = 4;
    config.knock.slack = 4;
    config.knock.seq_timeout_ms = 10000;
    config.knock.max_sources = max_sources;
    config.services = {{"ssh", {{knock::Transport::kTcp, 22}}, 30000},
                       {"https", {{knock::Transport::kTcp, 443}}, 30000}};
    config.clients = {{"alice", alice_key.Public(), {"ssh", "https"}},
                      {"bob", bob_key.Public(), {"ssh"}}};
    for (int i = 0; i < more_clients; ++i)
      config.clients.push_back({"user" + std::to_string(i),
                                knock::PrivateKey::Generate().Public(),
                                {"ssh"}});
    matcher =
        std::make_unique<knock::KnockMatcher>(config, &store, 42, eviction);
    std::string err;
    REQUIRE(matcher->Init(server_key, &err));
    REQUIRE(matcher->AdvanceTo(kT0Us));
  }

  std::vector<uint16_t> Sequence(const knock::PrivateKey& client,
                                 uint64_t window, uint8_t slot,
                                 const char* service = "ssh") {
    return ClientSequence(client, server_key.Public(), {window, slot, service});
  }
  uint64_t Window() const { return matcher->table().current_window(); }

  /// Feeds the ports 1 ms apart from `source`; returns the events.
  std::vector<knock::MatchEvent> Knock(const knock::IpAddress& source,
                                       const std::vector<uint16_t>& ports,
                                       int64_t start_us = kT0Us) {
    std::vector<knock::MatchEvent> events;
    int64_t t = start_us;
    for (uint16_t port : ports) {
      knock::MatchEvent event;
      if (matcher->OnKnock({source, port, knock::Transport::kTcp, t}, &event))
        events.push_back(event);
      t += 1000;
    }
    return events;
  }
};

}  // namespace

TEST_CASE("a sequence in order is granted once, to its sender", "[matcher]") {
  Fixture f;
  const auto events =
      f.Knock(Addr("198.18.0.2"), f.Sequence(f.alice_key, f.Window(), 0));
  REQUIRE(events.size() == 1);
  CHECK(events[0].verdict == knock::Verdict::kGranted);
  CHECK(events[0].source == Addr("198.18.0.2"));
  CHECK(events[0].owner.client == 0);
  CHECK(events[0].owner.service == 0);
  CHECK(events[0].owner.slot == 0);
  CHECK(events[0].expires_us == kT0Us + 7000 + 30000000);
}

TEST_CASE("sequences of one and two knocks complete on their last knock",
          "[matcher]") {
  // A source's first knock cannot complete a longer sequence, and the
  // matcher skips the candidates then; a sequence of one knock is complete
  // on that knock.
  for (const int count : {1, 2}) {
    CAPTURE(count);
    Fixture f;
    f.config.knock.count = count;
    f.matcher = std::make_unique<knock::KnockMatcher>(f.config, &f.store, 42);
    std::string err;
    REQUIRE(f.matcher->Init(f.server_key, &err));
    REQUIRE(f.matcher->AdvanceTo(kT0Us));
    knock::PairKey key;
    REQUIRE(knock::DerivePairKey(f.alice_key, f.server_key.Public(),
                                 knock::PairRole::kClient, &key, &err));
    std::vector<uint16_t> ports;
    REQUIRE(knock::DeriveSequence(key, {f.Window(), 0, "ssh"},
                                  {16384, 16384, count}, &ports, &err));
    // The first knock of the two-knock sequence opens nothing (control).
    const auto events = f.Knock(Addr("198.18.0.2"), ports);
    REQUIRE(events.size() == 1);
    CHECK(events[0].verdict == knock::Verdict::kGranted);
    CHECK(events[0].time_us == kT0Us + (count - 1) * 1000);
  }
}

TEST_CASE("seven of eight knocks open nothing", "[matcher]") {
  Fixture f;
  auto ports = f.Sequence(f.alice_key, f.Window(), 0);
  ports.pop_back();
  CHECK(f.Knock(Addr("198.18.0.2"), ports).empty());
}

TEST_CASE("a port that only shares the history's summary bit is missing",
          "[matcher]") {
  Fixture f;
  auto ports = f.Sequence(f.alice_key, f.Window(), 0);
  // The matcher skips the history scan for ports whose bit (port mod 64)
  // no remembered knock sets; a knock 64 ports away sets the last port's
  // bit without being it. It comes second: a source's first knock is only
  // remembered on a port some sequence uses.
  const uint16_t last = ports.back();
  const uint16_t neighbour =
      static_cast<uint16_t>(last + 64 <= 32767 ? last + 64 : last - 64);
  ports.pop_back();
  ports.insert(ports.begin() + 1, neighbour);
  CHECK(f.Knock(Addr("198.18.0.2"), ports).empty());
  const auto events = f.Knock(Addr("198.18.0.2"), {last}, kT0Us + 10000);
  REQUIRE(events.size() == 1);
  CHECK(events[0].verdict == knock::Verdict::kGranted);
}

TEST_CASE("reordered knocks still complete", "[matcher]") {
  Fixture f;
  auto ports = f.Sequence(f.alice_key, f.Window(), 1);
  std::swap(ports[0], ports[1]);
  std::swap(ports[4], ports[5]);
  std::reverse(ports.begin(), ports.end());
  CHECK(f.Knock(Addr("198.18.0.2"), ports).size() == 1);
}

TEST_CASE("every knock duplicated (retransmissions) still completes",
          "[matcher]") {
  Fixture f;
  std::vector<uint16_t> doubled;
  for (uint16_t port : f.Sequence(f.alice_key, f.Window(), 0)) {
    doubled.push_back(port);
    doubled.push_back(port);
  }
  CHECK(f.Knock(Addr("198.18.0.2"), doubled).size() == 1);
  // The last retransmission comes after the grant: a new, harmless start.
  CHECK(f.matcher->stats().duplicates_ignored == 7);
}

TEST_CASE("noise up to slack is tolerated, beyond it is not", "[matcher]") {
  Fixture f;
  const auto ports = f.Sequence(f.alice_key, f.Window(), 0);
  auto with_noise = [&](int noise) {
    std::vector<uint16_t> knocks(ports.begin(), ports.begin() + 4);
    for (int i = 0; i < noise; ++i) knocks.push_back(16384 + 2 * i);
    knocks.insert(knocks.end(), ports.begin() + 4, ports.end());
    return knocks;
  };
  CHECK(f.Knock(Addr("198.18.0.2"), with_noise(4)).size() == 1);
  f.matcher->AdvanceTo(kT0Us + 31 * 1000000);  // a fresh window: new ports
  const auto next = f.Sequence(f.alice_key, f.Window(), 0);
  std::vector<uint16_t> knocks(next.begin(), next.begin() + 4);
  for (int i = 0; i < 5; ++i) knocks.push_back(16385 + 2 * i);
  knocks.insert(knocks.end(), next.begin() + 4, next.end());
  CHECK(f.Knock(Addr("198.18.0.3"), knocks, kT0Us + 31 * 1000000).empty());
}

TEST_CASE("a sweep of the whole range opens nothing", "[matcher]") {
  Fixture f;
  std::vector<uint16_t> up, down;
  for (int port = 16384; port <= 32767; ++port) up.push_back(port);
  down.assign(up.rbegin(), up.rend());
  CHECK(f.Knock(Addr("198.18.0.9"), up).empty());
  CHECK(f.Knock(Addr("198.18.0.10"), down).empty());
  CHECK(f.matcher->stats().sequences_completed == 0);
}

TEST_CASE("a million random knocks from one source open nothing", "[matcher]") {
  Fixture f;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> port(16384, 32767);
  knock::MatchEvent event;
  int64_t t = kT0Us;
  int completed = 0;
  for (int i = 0; i < 1000000; ++i) {
    t += 10;  // 100,000 knocks per second, all inside one window
    completed += f.matcher->OnKnock(
        {Addr("198.18.0.66"), static_cast<uint16_t>(port(rng)),
         knock::Transport::kTcp, t},
        &event);
  }
  CHECK(completed == 0);
}

TEST_CASE("two sources interleaved each complete their own", "[matcher]") {
  Fixture f;
  const auto a = f.Sequence(f.alice_key, f.Window(), 0);
  const auto b = f.Sequence(f.bob_key, f.Window(), 0);
  knock::MatchEvent event;
  std::vector<knock::MatchEvent> events;
  for (size_t i = 0; i < a.size(); ++i) {
    const int64_t t = kT0Us + int64_t(i) * 1000;
    if (f.matcher->OnKnock(
            {Addr("198.18.0.2"), a[i], knock::Transport::kTcp, t}, &event))
      events.push_back(event);
    if (f.matcher->OnKnock(
            {Addr("2001:db8::2"), b[i], knock::Transport::kTcp, t}, &event))
      events.push_back(event);
  }
  REQUIRE(events.size() == 2);
  CHECK(events[0].source == Addr("198.18.0.2"));
  CHECK(events[0].owner.client == 0);
  CHECK(events[1].source == Addr("2001:db8::2"));
  CHECK(events[1].owner.client == 1);
}

TEST_CASE("two laptops behind one NAT address, knocking at once, both open",
          "[matcher]") {
  Fixture f;
  f.config.knock.slack = 8;  // the default: room for one other sequence
  f.matcher = std::make_unique<knock::KnockMatcher>(f.config, &f.store, 42);
  std::string err;
  REQUIRE(f.matcher->Init(f.server_key, &err));
  f.matcher->AdvanceTo(kT0Us);
  const auto a = f.Sequence(f.alice_key, f.Window(), 0);
  const auto b = f.Sequence(f.bob_key, f.Window(), 0);
  std::vector<uint16_t> interleaved;
  for (size_t i = 0; i < a.size(); ++i) {
    interleaved.push_back(a[i]);
    interleaved.push_back(b[i]);
  }
  const auto events = f.Knock(Addr("198.18.0.254"), interleaved);
  REQUIRE(events.size() == 2);
  CHECK(events[0].owner.client == 0);
  CHECK(events[1].owner.client == 1);
  CHECK(events[0].verdict == knock::Verdict::kGranted);
  CHECK(events[1].verdict == knock::Verdict::kGranted);
}

TEST_CASE("spoofed noise claiming another source does not disturb it",
          "[matcher]") {
  Fixture f;
  const auto ports = f.Sequence(f.alice_key, f.Window(), 0);
  knock::MatchEvent event;
  int grants = 0;
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> port(16384, 32767);
  for (size_t i = 0; i < ports.size(); ++i) {
    const int64_t t = kT0Us + int64_t(i) * 1000;
    // An attacker floods between every real knock, from spoofed neighbours
    // and a spoofed copy of the victim's IPv6 twin.
    for (const char* spoofed : {"198.18.0.3", "198.18.0.1", "2001:db8::2"})
      for (int j = 0; j < 50; ++j)
        f.matcher->OnKnock({Addr(spoofed), static_cast<uint16_t>(port(rng)),
                            knock::Transport::kTcp, t},
                           &event);
    grants += f.matcher->OnKnock(
        {Addr("198.18.0.2"), ports[i], knock::Transport::kTcp, t}, &event);
  }
  CHECK(grants == 1);
  CHECK(event.source == Addr("198.18.0.2"));
}

TEST_CASE("a replay from the same source refreshes, from another is refused",
          "[matcher]") {
  Fixture f;
  const auto ports = f.Sequence(f.alice_key, f.Window(), 2);
  auto first = f.Knock(Addr("198.18.0.2"), ports);
  REQUIRE(first.size() == 1);
  CHECK(first[0].verdict == knock::Verdict::kGranted);

  auto again = f.Knock(Addr("198.18.0.2"), ports, kT0Us + 5000000);
  REQUIRE(again.size() == 1);
  CHECK(again[0].verdict == knock::Verdict::kRefreshed);
  CHECK(again[0].expires_us == kT0Us + 5000000 + 7000 + 30000000);

  auto stolen = f.Knock(Addr("198.18.1.77"), ports, kT0Us + 6000000);
  REQUIRE(stolen.size() == 1);
  CHECK(stolen[0].verdict == knock::Verdict::kReplay);
  CHECK(stolen[0].first_source == Addr("198.18.0.2"));

  // After the grant ran out, even the first source only replays.
  auto late = f.Knock(Addr("198.18.0.2"), ports, kT0Us + 29000000);
  REQUIRE(late.size() == 1);
  CHECK(late[0].verdict == knock::Verdict::kRefreshed);
  f.matcher->AdvanceTo(kT0Us + 60000000);
  auto later = f.Knock(Addr("198.18.0.2"), ports, kT0Us + 60000000);
  REQUIRE(later.size() == 1);  // two windows behind now: refused as expired
  CHECK(later[0].verdict == knock::Verdict::kExpiredWindow);
  f.matcher->AdvanceTo(kT0Us + 90000000);
  CHECK(f.Knock(Addr("198.18.0.2"), ports, kT0Us + 90000000).empty());
}

TEST_CASE("windows at plus and minus skew open, one beyond is refused",
          "[matcher]") {
  Fixture f;
  const uint64_t w = f.Window();
  CHECK(f.Knock(Addr("198.18.0.2"), f.Sequence(f.alice_key, w - 1, 0))
            .at(0)
            .verdict == knock::Verdict::kGranted);
  CHECK(f.Knock(Addr("198.18.0.3"), f.Sequence(f.alice_key, w + 1, 0))
            .at(0)
            .verdict == knock::Verdict::kGranted);
  auto old = f.Knock(Addr("198.18.0.4"), f.Sequence(f.alice_key, w - 2, 0));
  REQUIRE(old.size() == 1);
  CHECK(old[0].verdict == knock::Verdict::kExpiredWindow);
  CHECK(f.Knock(Addr("198.18.0.5"), f.Sequence(f.alice_key, w + 2, 0)).empty());
}

TEST_CASE("every slot of a window opens once", "[matcher]") {
  Fixture f;
  for (uint8_t slot = 0; slot < 4; ++slot) {
    auto events =
        f.Knock(Addr("198.18.0.2"), f.Sequence(f.alice_key, f.Window(), slot));
    REQUIRE(events.size() == 1);
    CHECK(events[0].verdict == knock::Verdict::kGranted);
    CHECK(events[0].owner.slot == slot);
  }
  CHECK(f.Knock(Addr("198.18.0.2"), f.Sequence(f.alice_key, f.Window(), 4))
            .empty());
}

TEST_CASE("each client opens only its own services", "[matcher]") {
  Fixture f;
  auto https = f.Knock(Addr("198.18.0.2"),
                       f.Sequence(f.alice_key, f.Window(), 0, "https"));
  REQUIRE(https.size() == 1);
  CHECK(f.config.services[https[0].owner.service].name == "https");
  CHECK(
      f.Knock(Addr("198.18.0.3"), f.Sequence(f.bob_key, f.Window(), 0, "https"))
          .empty());
  knock::PrivateKey stranger = knock::PrivateKey::Generate();
  CHECK(
      f.Knock(Addr("198.18.0.4"), f.Sequence(stranger, f.Window(), 0)).empty());
}

TEST_CASE("knocks spread beyond seq_timeout do not complete", "[matcher]") {
  Fixture f;
  const auto ports = f.Sequence(f.alice_key, f.Window(), 0);
  knock::MatchEvent event;
  int completed = 0;
  for (size_t i = 0; i < ports.size(); ++i)
    completed += f.matcher->OnKnock(
        {Addr("198.18.0.2"), ports[i], knock::Transport::kTcp,
         kT0Us + int64_t(i) * 2000000},
        &event);
  CHECK(completed == 0);
}

TEST_CASE("udp knocks do not count when the protocol is tcp", "[matcher]") {
  Fixture f;
  knock::MatchEvent event;
  int completed = 0;
  for (uint16_t port : f.Sequence(f.alice_key, f.Window(), 0))
    completed += f.matcher->OnKnock(
        {Addr("198.18.0.2"), port, knock::Transport::kUdp, kT0Us}, &event);
  CHECK(completed == 0);
}

// A source shows progress from its second knock on one sequence; the client
// sends its first two knocks about a millisecond apart, so the flood here
// comes in every later gap, each time twenty times the table's size.
TEST_CASE("a random-source flood does not evict a source making progress",
          "[matcher]") {
  Fixture f(/*max_sources=*/1000);
  const auto ports = f.Sequence(f.alice_key, f.Window(), 0);
  // Spoofed knocks that all land on sequence ports, the worst case: each
  // creates a tracked source.
  std::vector<uint16_t> sequence_ports;
  for (uint64_t w = f.Window() - 1; w <= f.Window() + 1; ++w)
    for (uint8_t slot = 0; slot < 4; ++slot)
      for (uint16_t p : f.Sequence(f.bob_key, w, slot))
        sequence_ports.push_back(p);
  std::mt19937 rng(11);
  knock::MatchEvent event;
  int grants = 0;
  uint32_t spoofed = 0;
  for (size_t i = 0; i < ports.size(); ++i) {
    const int64_t t = kT0Us + int64_t(i) * 1000;
    grants += f.matcher->OnKnock(
        {Addr("198.18.0.2"), ports[i], knock::Transport::kTcp, t}, &event);
    if (i == 0) continue;
    for (int j = 0; j < 20000; ++j) {
      uint8_t bytes[4] = {198, 19, static_cast<uint8_t>(spoofed >> 8),
                          static_cast<uint8_t>(spoofed)};
      ++spoofed;
      f.matcher->OnKnock({knock::IpAddress::V4(bytes),
                          sequence_ports[rng() % sequence_ports.size()],
                          knock::Transport::kTcp, t},
                         &event);
    }
  }
  CHECK(grants == 1);
  CHECK(f.matcher->sources().size() <= 1000);
  CHECK(f.matcher->sources().evictions() > 100000);
  CHECK(f.matcher->sources().evictions_with_progress() == 0);
}

TEST_CASE("memory stays bounded whatever arrives", "[matcher]") {
  Fixture f(/*max_sources=*/5000);
  knock::MatchEvent event;
  std::mt19937 rng(5);
  const size_t before = f.matcher->sources().MemoryBytes();
  for (uint32_t i = 0; i < 300000; ++i) {
    uint8_t bytes[16] = {0x20, 0x01, 0x0d, 0xb8};
    for (int b = 4; b < 16; ++b) bytes[b] = static_cast<uint8_t>(rng());
    f.matcher->OnKnock({knock::IpAddress::V6(bytes),
                        static_cast<uint16_t>(16384 + rng() % 16384),
                        knock::Transport::kTcp, kT0Us + i},
                       &event);
  }
  CHECK(f.matcher->sources().size() <= 5000);
  // Fixed index plus at most max_sources records of bounded size.
  CHECK(f.matcher->sources().MemoryBytes() <= before + 5000 * 256);
}

namespace {

/// How an attacker fills the source table before a client's burst, and what
/// each new spoofed source it keeps sending during the burst knocks.
enum class Flood {
  kNothing,
  /// Seven of the eight ports of one live sequence (one sniffed knock).
  kPartialOneSequence,
  /// Seven of eight of every sequence in the table: more than anyone with
  /// one client key, or all of them, knows.
  kPartialEveryOwner,
  /// Sixteen random ports of the range each: no knowledge at all.
  kRandomPorts,
};

const char* Name(Flood flood) {
  switch (flood) {
    case Flood::kNothing:
      return "nothing";
    case Flood::kPartialOneSequence:
      return "7 of 8 of one live sequence";
    case Flood::kPartialEveryOwner:
      return "7 of 8 of every live sequence";
    case Flood::kRandomPorts:
      return "16 random ports";
  }
  return "?";
}

/// Spoofed sources from 198.19.0.0/16 and then 2001:db8:ffff::/48, each new,
/// knocking as `flood` says.
struct Attacker {
  Fixture* f;
  Flood flood;
  uint32_t next = 0;
  std::mt19937 rng{17};
  knock::MatchEvent event;
  int completions = 0;
  std::vector<uint16_t> sniffed;

  knock::IpAddress NewSource() {
    const uint32_t n = next++;
    if (n < 65536) {
      const uint8_t v4[4] = {198, 19, static_cast<uint8_t>(n >> 8),
                             static_cast<uint8_t>(n)};
      return knock::IpAddress::V4(v4);
    }
    uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff};
    std::memcpy(v6 + 12, &n, 4);
    return knock::IpAddress::V6(v6);
  }
  void Send(const knock::IpAddress& source, uint16_t port, int64_t t) {
    completions +=
        f->matcher->OnKnock({source, port, knock::Transport::kTcp, t}, &event);
  }
  /// One new source, all its knocks at `t`.
  void OneSource(int64_t t) {
    const knock::IpAddress source = NewSource();
    const knock::SequenceTable& table = f->matcher->table();
    switch (flood) {
      case Flood::kNothing:
        return;
      case Flood::kPartialOneSequence:
      case Flood::kPartialEveryOwner: {
        // Bob's first sequence of this window stands for the one sniffed.
        if (sniffed.empty()) sniffed = f->Sequence(f->bob_key, f->Window(), 0);
        std::span<const uint16_t> ports = sniffed;
        if (flood == Flood::kPartialEveryOwner)
          ports = table.Ports(static_cast<uint32_t>(next % table.size()));
        for (size_t i = 0; i + 1 < ports.size(); ++i) Send(source, ports[i], t);
        return;
      }
      case Flood::kRandomPorts:
        for (int i = 0; i < 16; ++i)
          Send(source, static_cast<uint16_t>(16384 + rng() % 16384), t);
        return;
    }
  }
};

/// Fills the table with `fill_sources` of the attacker's sources, then sends
/// alice's burst (eight knocks 2 ms apart, as `knock` does) while new
/// spoofed sources keep arriving at `trickle_per_s`. Returns alice's
/// grants.
int BurstUnderFlood(Fixture* f, Flood flood, uint32_t fill_sources,
                    int trickle_per_s, Attacker* attacker) {
  attacker->f = f;
  attacker->flood = flood;
  const int64_t fill_start_us = kT0Us + 100000;
  for (uint32_t i = 0; i < fill_sources; ++i)
    attacker->OneSource(fill_start_us + i);  // a microsecond apart
  const auto ports = f->Sequence(f->alice_key, f->Window(), 1);
  constexpr int64_t kGapUs = 2000;
  const int64_t burst_us = fill_start_us + 1000000;
  int grants = 0;
  double owed = 0;  // trickle sources due but not yet sent
  for (size_t i = 0; i < ports.size(); ++i) {
    const int64_t t = burst_us + int64_t(i) * kGapUs;
    knock::MatchEvent event;
    if (f->matcher->OnKnock(
            {Addr("198.18.0.2"), ports[i], knock::Transport::kTcp, t},
            &event)) {
      CHECK(event.source == Addr("198.18.0.2"));
      grants += event.verdict == knock::Verdict::kGranted;
    }
    owed += trickle_per_s * kGapUs / 1e6;
    for (int k = 0; owed >= 1; ++k, owed -= 1)
      attacker->OneSource(t + 1 + k % (kGapUs - 1));
  }
  return grants;
}

/// The helper's side for a matcher that holds no key: the image of the
/// windows around `window`, with or without the next one ahead.
knock::SequenceTableImage ImageAt(const Fixture& f, uint64_t window,
                                  uint64_t windows_ahead = 1) {
  knock::SequenceTable keyed;
  keyed.set_windows_ahead(windows_ahead);
  keyed.set_indexed(false);
  std::string err;
  REQUIRE(keyed.Init(f.config, f.server_key, &err));
  keyed.RollTo(window);
  return keyed.Image();
}

/// A fresh matcher on the fixture's configuration, fed `image`.
std::unique_ptr<knock::KnockMatcher> KeylessMatcher(
    Fixture* f, knock::SequenceTableImage image) {
  auto matcher = std::make_unique<knock::KnockMatcher>(f->config, &f->store, 7);
  std::string err;
  REQUIRE(matcher->LoadTable(std::move(image), &err));
  CHECK_FALSE(matcher->table().keyed());
  return matcher;
}

}  // namespace

// The property the source table is built for: whatever the table holds and
// whatever new spoofed sources arrive during it, a client's burst completes,
// as long as fewer than young_limit() (750 here) new sources arrive between
// its first and last knock: at 50,000 new sources a second the 14 ms burst
// sees 700.
TEST_CASE("a client's burst completes whatever the table holds",
          "[matcher][flood]") {
  const Flood flood = GENERATE(Flood::kNothing, Flood::kPartialOneSequence,
                               Flood::kPartialEveryOwner, Flood::kRandomPorts);
  const int trickle_per_s = GENERATE(0, 500, 2000, 20000, 50000);
  const int more_clients = GENERATE(0, 1000);
  CAPTURE(Name(flood), trickle_per_s, more_clients);
  Fixture f(/*max_sources=*/1000, more_clients);
  REQUIRE(f.matcher->sources().young_limit() == 750);
  Attacker attacker;
  const uint32_t fill = flood == Flood::kRandomPorts ? 20000 : 3000;
  CHECK(BurstUnderFlood(&f, flood, fill, trickle_per_s, &attacker) == 1);
  CHECK(f.matcher->sources().size() <= 1000);
  CHECK(f.matcher->sources().evictions_young() == 0);
  CHECK(attacker.completions == 0);
}

// The controls: the same attacks against the table without its young pool
// (every source competing by level from its first knock, as before) lose
// the client, so the test above can fail.
TEST_CASE("without the young pool a fill and a trickle keep a client out",
          "[matcher][flood]") {
  SECTION("7 of 8 of one sniffed sequence, then 2,000 new sources a second") {
    Fixture f(1000, 0, knock::EvictionPolicy{.young_pool = false});
    Attacker attacker;
    CHECK(BurstUnderFlood(&f, Flood::kPartialOneSequence, 3000, 2000,
                          &attacker) == 0);
    CHECK(f.matcher->sources().evictions_with_progress() > 0);
  }
  SECTION("a blind random fill with 1,000 clients, then 2,000 a second") {
    Fixture f(1000, 1000, knock::EvictionPolicy{.young_pool = false});
    Attacker attacker;
    CHECK(BurstUnderFlood(&f, Flood::kRandomPorts, 20000, 2000, &attacker) ==
          0);
  }
}

// The bound is real: more new sources than young_limit() during the burst
// (here 2,000,000 a second, 4,000 in each 2 ms gap) do evict the client.
TEST_CASE("a flood beyond young_limit new sources per burst can evict",
          "[matcher][flood]") {
  Fixture f(1000);
  Attacker attacker;
  CHECK(BurstUnderFlood(&f, Flood::kPartialOneSequence, 3000, 2000000,
                        &attacker) == 0);
}

TEST_CASE("a keyless matcher completes a sequence across a roll and a swap",
          "[matcher]") {
  Fixture f;
  const uint64_t w0 = knock::WindowAt(kT0Us / 1000000, kStepSeconds);
  f.matcher = KeylessMatcher(&f, ImageAt(f, w0));
  f.matcher->AdvanceTo(kT0Us);
  const auto ports = f.Sequence(f.alice_key, w0, 2);
  const int64_t late_in_w0 = kT0Us + (kStepSeconds * 1000000) - 5000;
  // Half the knocks at the end of w0, the rest after packet time rolled
  // and the helper's next image replaced the table.
  CHECK(f.Knock(Addr("198.18.0.2"), {ports.begin(), ports.begin() + 4},
                late_in_w0)
            .empty());
  const int64_t in_w1 = kT0Us + kStepSeconds * 1000000 + 1000;
  f.matcher->AdvanceTo(in_w1);
  std::string err;
  REQUIRE(f.matcher->LoadTable(ImageAt(f, w0 + 1), &err));
  const auto events =
      f.Knock(Addr("198.18.0.2"), {ports.begin() + 4, ports.end()}, in_w1);
  REQUIRE(events.size() == 1);
  CHECK(events[0].verdict == knock::Verdict::kGranted);
  CHECK(events[0].owner.window == w0);
  CHECK(events[0].owner.slot == 2);
}

TEST_CASE(
    "a keyless matcher matches the window that went live before the "
    "helper's next image",
    "[matcher]") {
  Fixture f;
  const uint64_t w0 = knock::WindowAt(kT0Us / 1000000, kStepSeconds);
  const int64_t in_w1 = kT0Us + kStepSeconds * 1000000 + 1000;
  // With the window ahead (what the helper sends) it opens; the control
  // without it shows that this window is what makes the difference.
  const uint64_t ahead = GENERATE(1, 0);
  INFO("windows ahead " << ahead);
  f.matcher = KeylessMatcher(&f, ImageAt(f, w0, ahead));
  f.matcher->AdvanceTo(in_w1);
  const auto events =
      f.Knock(Addr("198.18.0.2"), f.Sequence(f.alice_key, w0 + 2, 0), in_w1);
  CHECK(events.size() == ahead);
}

TEST_CASE("a keyless matcher refuses an image of another configuration",
          "[matcher]") {
  Fixture f;
  const uint64_t w0 = knock::WindowAt(kT0Us / 1000000, kStepSeconds);
  knock::SequenceTableImage image = ImageAt(f, w0);
  image.owners.back().client = 2;
  knock::KnockMatcher matcher(f.config, &f.store, 7);
  std::string err;
  CHECK_FALSE(matcher.LoadTable(std::move(image), &err));
  CHECK(err ==
        "sequence table image: owner (client 2, service 0, slot 3) is not in "
        "the configuration");
}

namespace {

/// alice, who may knock bound, and a matcher at kT0Us: for the bound
/// tests. Her sequences are bound to 198.18.0.2.
struct BoundWorld {
  knock::PrivateKey server_key = knock::PrivateKey::Generate();
  knock::PrivateKey alice_key = knock::PrivateKey::Generate();
  knock::ServerConfig config = Config(alice_key);
  knock::ReplayStore store;
  knock::KnockMatcher matcher{config, &store, 42};
  knock::PairKey key;
  uint64_t window = 0;

  BoundWorld() {
    std::string err;
    REQUIRE(matcher.Init(server_key, &err));
    REQUIRE(matcher.AdvanceTo(kT0Us));
    REQUIRE(knock::DerivePairKey(alice_key, server_key.Public(),
                                 knock::PairRole::kClient, &key, &err));
    window = matcher.table().current_window();
  }
  static knock::ServerConfig Config(const knock::PrivateKey& alice) {
    knock::ServerConfig config;
    config.knock.ports = {16384, 32767};
    config.knock.step_seconds = kStepSeconds;
    config.knock.slack = 4;
    config.services = {{"ssh", {{knock::Transport::kTcp, 22}}, 30000}};
    config.clients = {{"alice", alice.Public(), {"ssh"}}};
    config.clients[0].allow_bound = true;
    return config;
  }
  knock::BoundSequence Bound(uint8_t slot) const {
    knock::BoundSequence bound;
    std::string err;
    REQUIRE(knock::DeriveBoundSequence(key, {window, slot, "ssh"},
                                       {16384, 16384, 8}, Addr("198.18.0.2"),
                                       &bound, &err));
    return bound;
  }
  std::vector<uint16_t> Unbound(uint8_t slot) const {
    std::vector<uint16_t> ports;
    std::string err;
    REQUIRE(knock::DeriveSequence(key, {window, slot, "ssh"}, {16384, 16384, 8},
                                  &ports, &err));
    return ports;
  }
};

}  // namespace

TEST_CASE(
    "a bound head carries the source's other knocks and leaves the "
    "replay decision to the helper",
    "[matcher][bound]") {
  BoundWorld world;
  knock::KnockMatcher& matcher = world.matcher;
  const knock::BoundSequence bound = world.Bound(2);
  const std::vector<uint16_t> unbound = world.Unbound(3);
  auto knock_from = [&](const char* source, const std::vector<uint16_t>& ports,
                        int64_t start_us) {
    std::vector<knock::MatchEvent> events;
    int64_t t = start_us;
    for (uint16_t port : ports) {
      knock::MatchEvent event;
      if (matcher.OnKnock({Addr(source), port, knock::Transport::kTcp, t},
                          &event))
        events.push_back(event);
      t += 1000;
    }
    return events;
  };
  const std::vector<uint16_t> sent = knock::BoundSendingOrder(bound);
  // A racer first, then alice: both reach the helper, which decides.
  for (const char* source : {"198.18.0.9", "198.18.0.2"}) {
    INFO(source);
    const auto events = knock_from(source, sent, kT0Us);
    REQUIRE(events.size() == 1);
    CHECK(events[0].verdict == knock::Verdict::kGranted);
    CHECK(events[0].owner.bound);
    CHECK(events[0].owner.slot == 2);
    REQUIRE(events[0].ports.size() == 12);
    CHECK(std::vector<uint16_t>(events[0].ports.begin(),
                                events[0].ports.begin() + 8) == bound.head);
    CHECK(knock::TailAmong(
        bound.tail, std::span<const uint16_t>(events[0].ports.begin() + 8, 4)));
  }
  // Control: an unbound sequence raced the same way is the racer's, and
  // the sniffer refuses alice's own copy as a replay.
  auto events = knock_from("198.18.0.9", unbound, kT0Us + 100000);
  REQUIRE(events.size() == 1);
  CHECK(events[0].verdict == knock::Verdict::kGranted);
  CHECK_FALSE(events[0].owner.bound);
  CHECK(events[0].ports.size() == 8);
  events = knock_from("198.18.0.2", unbound, kT0Us + 100000);
  REQUIRE(events.size() == 1);
  CHECK(events[0].verdict == knock::Verdict::kReplay);
}

TEST_CASE(
    "a copied bound head replayed from many sources asks the helper a few "
    "times, not once per source",
    "[matcher][bound]") {
  BoundWorld world;
  knock::KnockMatcher& matcher = world.matcher;
  const knock::BoundSequence bound = world.Bound(2);
  const std::vector<uint16_t> unbound = world.Unbound(3);
  // Sends `ports` from `source` at `t`; returns the verdict, if any.
  auto knock_from = [&](const knock::IpAddress& source,
                        const std::vector<uint16_t>& ports, int64_t t) {
    std::optional<knock::Verdict> verdict;
    for (uint16_t port : ports) {
      knock::MatchEvent event;
      if (matcher.OnKnock({source, port, knock::Transport::kTcp, t}, &event))
        verdict = event.verdict;
      t += 10;
    }
    return verdict;
  };
  auto spoofed = [](int i) {
    const uint8_t bytes[4] = {198, 19, uint8_t(i >> 8), uint8_t(i)};
    return knock::IpAddress::V4(bytes);
  };
  // Alice first, then 200 copies of her head from spoofed sources.
  CHECK(knock_from(Addr("198.18.0.2"), knock::BoundSendingOrder(bound),
                   kT0Us) == knock::Verdict::kGranted);
  size_t granted = 0, replays = 0;
  for (int i = 0; i < 200; ++i) {
    const auto verdict = knock_from(spoofed(i), bound.head, kT0Us + 1000);
    granted += verdict == knock::Verdict::kGranted;
    replays += verdict == knock::Verdict::kReplay;
  }
  CHECK(granted == knock::GrantForwardLimit::kMaxSourcesPerSequence - 1);
  CHECK(replays == 200 - granted);
  // Control: an unbound sequence's first source replaying it asks once a
  // second, while the hole it refreshes is open.
  CHECK(knock_from(Addr("198.18.0.2"), unbound, kT0Us) ==
        knock::Verdict::kGranted);
  size_t refreshed = 0;
  for (int i = 0; i < 100; ++i)
    refreshed += knock_from(Addr("198.18.0.2"), unbound, kT0Us + 1000 * i) ==
                 knock::Verdict::kRefreshed;
  CHECK(refreshed == 0);
  CHECK(knock_from(Addr("198.18.0.2"), unbound, kT0Us + 1000001) ==
        knock::Verdict::kRefreshed);
  CHECK(matcher.stats().grants_held_back == 100);

  // Copies that complete before the client, sent from closer, do not crowd
  // it out: it started first.
  const knock::BoundSequence raced = world.Bound(1);
  const std::vector<uint16_t> order = knock::BoundSendingOrder(raced);
  const int64_t t0 = kT0Us + 2000000;
  CHECK_FALSE(knock_from(Addr("198.18.0.2"), {order[0]}, t0));
  for (int i = 300; i < 308; ++i)
    CHECK(knock_from(spoofed(i), raced.head, t0 + 1000) ==
          knock::Verdict::kGranted);
  CHECK(knock_from(Addr("198.18.0.2"),
                   std::vector<uint16_t>(order.begin() + 1, order.end()),
                   t0 + 5000) == knock::Verdict::kGranted);
  // Control: a copy started after all of them finds no place.
  CHECK(knock_from(spoofed(400), raced.head, t0 + 6000) ==
        knock::Verdict::kReplay);
}
