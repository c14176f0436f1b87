// The daemon's pipeline from frames to firewall, with a capture file as the
// packet source and a recording firewall: what `knockd replay` and the live
// daemon share.
#include <pcap/dlt.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <random>

#include "common/clock.h"
#include "knockd/sniffer/knock_pipeline.h"
#include "knockd/sniffer/pcap_writer.h"

namespace {

constexpr int64_t kT0Us = int64_t{1800000000} * 1000000;

knock::IpAddress Addr(const char* text) {
  knock::IpAddress address;
  std::string err;
  REQUIRE(knock::IpAddress::Parse(text, &address, &err));
  return address;
}

/// A firewall that records what it was asked to do, and can be told to fail.
class RecordingFirewall : public knock::Firewall {
 public:
  bool Setup(const knock::FirewallLayout&, std::string*) override {
    return true;
  }
  bool Open(const knock::Grant& grant, std::string* err) override {
    if (fail_) {
      *err = "told to fail";
      return false;
    }
    grants.push_back(grant);
    return true;
  }
  bool Flush(std::string*) override { return true; }
  const char* Name() const override { return "recording"; }
  std::vector<knock::Grant> grants;
  bool fail_ = false;
};

struct Fixture {
  knock::PrivateKey server_key = knock::PrivateKey::Generate();
  knock::PrivateKey alice_key = knock::PrivateKey::Generate();
  knock::ServerConfig config;
  RecordingFirewall firewall;
  knock::ReplayStore store;
  knock::Logger logger;
  std::unique_ptr<knock::KnockPipeline> pipeline;
  std::vector<knock::KnockOutcome> events;

  Fixture() {
    config.services = {
        {"ssh",
         {{knock::Transport::kTcp, 22}, {knock::Transport::kUdp, 60001}},
         15000}};
    config.clients = {{"alice", alice_key.Public(), {"ssh"}}};
    logger.set_min_level(knock::LogLevel::kError);
    pipeline = std::make_unique<knock::KnockPipeline>(&config, &firewall,
                                                      &store, &logger, 1);
    std::string err;
    REQUIRE(pipeline->Init(server_key, &err));
    pipeline->set_event_handler(
        [this](const knock::KnockOutcome& e) { events.push_back(e); });
  }
  std::vector<uint16_t> Sequence(int64_t time_us, uint8_t slot) {
    knock::PairKey key;
    std::string err;
    REQUIRE(knock::DerivePairKey(alice_key, server_key.Public(),
                                 knock::PairRole::kClient, &key, &err));
    std::vector<uint16_t> ports;
    REQUIRE(knock::DeriveSequence(
        key, {knock::WindowAt(time_us / 1000000, 30), slot, "ssh"},
        {16384, 16384, 8}, &ports, &err));
    return ports;
  }
  /// Writes frames to a capture file and runs the pipeline over it.
  void Run(
      const std::vector<std::pair<std::vector<uint8_t>, int64_t>>& frames) {
    char path[] = "/tmp/knock-pipeline-XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    std::string err;
    knock::PcapWriter writer;
    REQUIRE(writer.Open(path, DLT_EN10MB, &err));
    for (const auto& [frame, time_us] : frames)
      REQUIRE(writer.Write(frame, time_us, &err));
    REQUIRE(writer.Close(&err));
    std::unique_ptr<knock::PacketSource> source;
    REQUIRE(knock::OpenFileSource(path, config.knock, &source, &err));
    knock::KnockPipeline* p = pipeline.get();
    while (
        source->Dispatch([p](const knock::Frame& f) { p->OnFrame(f); }, &err)) {
    }
    CHECK(err.empty());
    unlink(path);
  }
};

std::vector<uint8_t> Syn(const char* source, uint16_t port) {
  return knock::BuildTcpSynFrame(Addr(source), Addr("198.18.0.1"), 40000, port,
                                 DLT_EN10MB);
}

}  // namespace

TEST_CASE("planted sequences in noise open exactly once each", "[pipeline]") {
  Fixture f;
  std::vector<std::pair<std::vector<uint8_t>, int64_t>> frames;
  std::mt19937 rng(1);
  int64_t t = kT0Us;
  for (uint8_t slot = 0; slot < 3; ++slot) {
    for (uint16_t port : f.Sequence(t, slot)) {
      for (int noise = 0; noise < 200; ++noise) {
        const std::string spoofed = "198.19.0." + std::to_string(rng() % 250);
        frames.push_back({Syn(spoofed.c_str(), 16384 + rng() % 16384), t});
      }
      frames.push_back({Syn("198.18.0.2", port), t});
      t += 1000;
    }
  }
  f.Run(frames);
  REQUIRE(f.firewall.grants.size() == 3);
  for (const knock::Grant& grant : f.firewall.grants) {
    CHECK(grant.source == Addr("198.18.0.2"));
    CHECK(grant.client == "alice");
    CHECK(grant.service == "ssh");
    CHECK(grant.timeout_ms == 15000);
    CHECK(grant.ports == f.config.services[0].ports);
  }
  CHECK(f.pipeline->stats().frames == frames.size());
}

TEST_CASE("a replay from elsewhere never reaches the firewall", "[pipeline]") {
  Fixture f;
  std::vector<std::pair<std::vector<uint8_t>, int64_t>> frames;
  for (const char* source : {"198.18.0.2", "2001:db8::66"})
    for (uint16_t port : f.Sequence(kT0Us, 1))
      frames.push_back({Syn(source, port), kT0Us + 2000});
  f.Run(frames);
  REQUIRE(f.events.size() == 2);
  CHECK(f.events[1].match.verdict == knock::Verdict::kReplay);
  CHECK(f.events[1].match.source == Addr("2001:db8::66"));
  CHECK(f.events[1].match.first_source == Addr("198.18.0.2"));
  CHECK(f.firewall.grants.size() == 1);
}

TEST_CASE("a firewall failure is counted and reported as not enforced",
          "[pipeline]") {
  Fixture f;
  f.firewall.fail_ = true;
  std::vector<std::pair<std::vector<uint8_t>, int64_t>> frames;
  for (uint16_t port : f.Sequence(kT0Us, 0))
    frames.push_back({Syn("198.18.0.2", port), kT0Us});
  f.Run(frames);
  REQUIRE(f.events.size() == 1);
  CHECK_FALSE(f.events[0].enforced);
  CHECK(f.pipeline->stats().firewall_errors == 1);
}

TEST_CASE("malformed frames are counted, not matched", "[pipeline]") {
  Fixture f;
  std::vector<std::pair<std::vector<uint8_t>, int64_t>> frames;
  const auto good = Syn("198.18.0.2", 20000);
  for (size_t cut = 0; cut < good.size(); ++cut)
    frames.push_back(
        {std::vector<uint8_t>(good.begin(), good.begin() + cut), kT0Us});
  f.Run(frames);
  CHECK(f.events.empty());
  CHECK(f.pipeline->decode_stats().knocks == 0);
  CHECK(f.pipeline->CountersLine().find("knocks 0 truncated") !=
        std::string::npos);
}

TEST_CASE("timestamps are printed as RFC 3339 UTC with microseconds",
          "[pipeline]") {
  CHECK(knock::FormatTimestampUs(kT0Us + 123456) ==
        "2027-01-15T08:00:00.123456Z");
}
