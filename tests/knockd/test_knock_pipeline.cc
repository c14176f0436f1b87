// The daemon's pipeline from frames to firewall, with a capture file as the
// packet source and a recording firewall: what `knockd replay` and the live
// daemon share.
#include <malloc.h>
#include <pcap/dlt.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>

#include "common/clock.h"
#include "common/key_file.h"
#include "knockd/client_sequence.h"
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

  explicit Fixture(int64_t step_seconds = 30) { Start(step_seconds); }
  /// The same keys as `other`, and a table of `max_sources`: two fixtures
  /// that must decide alike.
  Fixture(const Fixture& other, uint32_t max_sources)
      : server_key(knock::PrivateKey::FromBytes(other.server_key.bytes())),
        alice_key(knock::PrivateKey::FromBytes(other.alice_key.bytes())) {
    config.knock.max_sources = max_sources;
    Start(other.config.knock.step_seconds);
  }
  void Start(int64_t step_seconds) {
    config.knock.step_seconds = step_seconds;
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
    return ClientSequence(
        alice_key, server_key.Public(),
        {knock::WindowAt(time_us / 1000000, config.knock.step_seconds), slot,
         "ssh"});
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

constexpr int64_t kHourUs = int64_t{3600} * 1000000;

/// Hands one frame to the pipeline as live capture would.
void Feed(knock::KnockPipeline* pipeline, const std::vector<uint8_t>& frame,
          int64_t time_us) {
  pipeline->OnFrame(
      {DLT_EN10MB, frame.data(), static_cast<uint32_t>(frame.size()), time_us});
}

/// alice's sequence of `slot` at `time_us`, knocked from `source`.
void Knock(Fixture* f, int64_t time_us, uint8_t slot,
           const char* source = "198.18.0.2") {
  for (uint16_t port : f->Sequence(time_us, slot))
    Feed(f->pipeline.get(), Syn(source, port), time_us);
}

/// Sources the pipeline's matcher holds now, read from its counters line.
size_t SourcesNow(const Fixture& f) {
  const std::string line = f.pipeline->CountersLine();
  const size_t at = line.find(" sources ");
  return at == std::string::npos ? 0 : std::stoul(line.substr(at + 9));
}

std::string RunCommand(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;)
    output.append(buffer, n);
  pclose(pipe);
  return output;
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

TEST_CASE("a capture frame an hour ahead cannot move the windows",
          "[pipeline][clock]") {
  Fixture f;
  std::vector<std::pair<std::vector<uint8_t>, int64_t>> frames;
  frames.push_back({Syn("198.19.0.7", 20000), kT0Us});
  frames.push_back({Syn("198.19.0.8", 20001), kT0Us + kHourUs});
  for (uint16_t port : f.Sequence(kT0Us, 0))
    frames.push_back({Syn("198.18.0.2", port), kT0Us + 1000});
  f.Run(frames);
  REQUIRE(f.firewall.grants.size() == 1);
  CHECK(f.pipeline->stats().clock_steps == 0);
  CHECK(f.pipeline->CountersLine().find(" clock_steps 0 far_frames 1") !=
        std::string::npos);
}

TEST_CASE(
    "a time an hour ahead on the forward-only path refuses knocks "
    "(control)",
    "[pipeline][clock]") {
  Fixture f;
  f.pipeline->OnTimer(kT0Us + kHourUs);
  Knock(&f, kT0Us, 0);
  CHECK(f.firewall.grants.empty());
}

TEST_CASE("a stepped capture clock is followed once confirmed, and logged",
          "[pipeline][clock]") {
  Fixture f;
  std::vector<std::pair<std::vector<uint8_t>, int64_t>> frames;
  for (uint16_t port : f.Sequence(kT0Us, 0))
    frames.push_back({Syn("198.18.0.2", port), kT0Us});
  // The capturing host's clock was set back an hour; the knocks after it
  // are stamped so.
  const int64_t back = kT0Us - kHourUs;
  for (uint16_t port : f.Sequence(back, 1))
    frames.push_back({Syn("198.18.0.3", port), back});
  f.Run(frames);
  CHECK(f.firewall.grants.size() == 2);
  CHECK(f.pipeline->stats().clock_steps == 1);
}

TEST_CASE("a live clock stepped forward and back keeps granting",
          "[pipeline][clock]") {
  Fixture f;
  f.pipeline->set_live_clock(true);
  const int64_t second = 1000000;
  f.pipeline->OnClock(kT0Us, 0);
  f.pipeline->OnClock(kT0Us + kHourUs, second);
  // Frames stamped before the step back, handled after it, move nothing.
  Feed(f.pipeline.get(), Syn("198.19.0.9", 20000), kT0Us + kHourUs);
  f.pipeline->OnClock(kT0Us + 2 * second, 2 * second);
  CHECK(f.pipeline->stats().clock_steps == 2);
  Knock(&f, kT0Us + 2 * second, 0);
  CHECK(f.firewall.grants.size() == 1);
}

TEST_CASE(
    "a sequence used before a live clock stepped forward and back is not "
    "granted again",
    "[pipeline][clock]") {
  Fixture f;
  f.pipeline->set_live_clock(true);
  const int64_t second = 1000000;
  f.pipeline->OnClock(kT0Us, 0);
  Knock(&f, kT0Us + 1000, 0);
  REQUIRE(f.firewall.grants.size() == 1);
  // Forward an hour: the used set is pruned by the wall clock; back again:
  // the window is live once more and a sniffed copy is replayed.
  f.pipeline->OnClock(kT0Us + kHourUs, second);
  f.pipeline->OnClock(kT0Us + 2 * second, 2 * second);
  CHECK(f.store.size() == 0);  // the entry itself is gone
  Knock(&f, kT0Us + 2 * second, 0, "198.19.0.66");
  CHECK(f.firewall.grants.size() == 1);
  REQUIRE_FALSE(f.events.empty());
  CHECK(f.events.back().match.verdict == knock::Verdict::kExpiredWindow);
  // Control: the next window opens; the windows are live again. (The whole
  // window of the replayed sequence is refused: the set keeps one floor.)
  Knock(&f, kT0Us + 3 * second, 1, "198.18.0.3");
  CHECK(f.firewall.grants.size() == 1);
  f.pipeline->OnClock(kT0Us + 31 * second, 31 * second);
  Knock(&f, kT0Us + 31 * second, 1, "198.18.0.3");
  CHECK(f.firewall.grants.size() == 2);
}

TEST_CASE(
    "a live clock stepped back on the forward-only path refuses "
    "knocks (control)",
    "[pipeline][clock]") {
  Fixture f;
  f.pipeline->OnTimer(kT0Us);
  f.pipeline->OnTimer(kT0Us + kHourUs);
  f.pipeline->OnTimer(kT0Us + 2000000);
  Knock(&f, kT0Us + 2000000, 0);
  CHECK(f.firewall.grants.empty());
}

TEST_CASE("a live frame stamped far from the clock cannot move the windows",
          "[pipeline][clock]") {
  Fixture f;
  f.pipeline->set_live_clock(true);
  f.pipeline->OnClock(kT0Us, 0);
  Feed(f.pipeline.get(), Syn("198.19.0.9", 20000), kT0Us + kHourUs);
  Knock(&f, kT0Us + 1000, 0);
  CHECK(f.firewall.grants.size() == 1);
  CHECK(f.pipeline->stats().clock_steps == 0);
}

TEST_CASE("knockd replay grants after a frame stamped an hour ahead",
          "[pipeline][clock]") {
  Fixture f;
  char dir_template[] = "/tmp/knock-replay-XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  std::string err;
  REQUIRE(knock::WritePrivateKeyFile(dir + "/server.key", f.server_key, &err));
  {
    std::ofstream conf(dir + "/knockd.toml");
    conf << "private_key_file = \"" << dir << "/server.key\"\n"
         << "state_dir = \"" << dir << "/state\"\n"
         << "[service.ssh]\nports = [\"tcp/22\"]\nopen_for = \"15s\"\n"
         << "[[client]]\nname = \"alice\"\npublic_key = \""
         << f.alice_key.Public().ToText() << "\"\nservices = [\"ssh\"]\n";
  }
  knock::PcapWriter writer;
  REQUIRE(writer.Open(dir + "/capture.pcap", DLT_EN10MB, &err));
  REQUIRE(writer.Write(Syn("198.19.0.7", 20000), kT0Us, &err));
  REQUIRE(writer.Write(Syn("198.19.0.8", 20001), kT0Us + kHourUs, &err));
  for (uint16_t port : f.Sequence(kT0Us, 0))
    REQUIRE(writer.Write(Syn("198.18.0.2", port), kT0Us + 1000, &err));
  REQUIRE(writer.Close(&err));
  const std::string output =
      RunCommand(std::string(KNOCKD_BINARY) + " -c " + dir +
                 "/knockd.toml replay --pcap " + dir + "/capture.pcap 2>&1");
  CHECK(output.find(" granted client=alice service=ssh source=198.18.0.2 ") !=
        std::string::npos);
  CHECK(output.find(" far_frames 1") != std::string::npos);
  RunCommand("rm -rf " + dir);
}

TEST_CASE(
    "the sniffer's state stays bounded over thousands of grants and "
    "window rolls",
    "[pipeline][soak]") {
  // Step 1 s: every second is a window roll; two grants per window, each
  // from a new source, as the soak test drives the live daemon.
  Fixture f(1);
  const int64_t second = 1000000;
  auto heap_in_use = [] { return mallinfo2().uordblks; };
  size_t heap_after_warmup = 0;
  size_t largest_store = 0;
  size_t largest_sources = 0;
  const int rolls = 4000;
  for (int roll = 0; roll < rolls; ++roll) {
    const int64_t t = kT0Us + roll * second;
    f.pipeline->OnClock(t, roll * second);
    for (uint8_t slot = 0; slot < 2; ++slot) {
      const uint32_t n = static_cast<uint32_t>(roll * 2 + slot);
      const std::string source = "198.18." +
                                 std::to_string(128 + n / 250 % 128) + "." +
                                 std::to_string(1 + n % 250);
      Knock(&f, t + 1000, slot, source.c_str());
    }
    // A light flood beside: sources that knock one port of a live
    // sequence once and never again.
    const std::vector<uint16_t> bait = f.Sequence(t, 3);
    for (uint32_t i = 0; i < 50; ++i) {
      const uint32_t n = static_cast<uint32_t>(roll) * 50 + i;
      const std::string source = "198.19." + std::to_string(n / 250 % 256) +
                                 "." + std::to_string(1 + n % 250);
      Feed(f.pipeline.get(), Syn(source.c_str(), bait[i % bait.size()]),
           t + 2000 + i);
    }
    largest_sources = std::max(largest_sources, SourcesNow(f));
    largest_store = std::max(largest_store, f.store.size());
    // The test's own records of what happened are not the pipeline's.
    f.firewall.grants.clear();
    f.firewall.grants.shrink_to_fit();
    f.events.clear();
    f.events.shrink_to_fit();
    if (roll == 1000) heap_after_warmup = heap_in_use();
  }
  CHECK(f.pipeline->matcher_stats().grants == 2 * rolls);
  // The used set holds the windows it may still refuse a replay in.
  const size_t windows = 2 * f.config.knock.skew + 2;
  CHECK(largest_store <= windows * 2);
  CHECK(f.pipeline->matcher_stats().grants > 100 * largest_store);
  // The sources held: those of the last seq_timeout (10 s), never all of
  // the 200,000 that knocked.
  CHECK(largest_sources <= 50 * 12);
  // Signed: the heap may also have shrunk a little since the warm-up.
  const ptrdiff_t growth = static_cast<ptrdiff_t>(heap_in_use()) -
                           static_cast<ptrdiff_t>(heap_after_warmup);
  INFO("heap growth over the last " << rolls - 1000 << " rolls: " << growth
                                    << " bytes");
  CHECK(growth < 64 * 1024);
}

TEST_CASE("a used set never pruned grows with every grant (control)",
          "[pipeline][soak]") {
  knock::ReplayStore store;
  const knock::PrivateKey alice = knock::PrivateKey::Generate();
  const knock::IpAddress source = Addr("198.18.0.2");
  const knock::UsedEntry* entry = nullptr;
  for (uint64_t window = 0; window < 2000; ++window)
    store.Use({alice.Public(), "ssh", window, 0}, 30, source, 0, 1, &entry);
  CHECK(store.size() == 2000);
  store.PruneBefore(1999 - 1, 30);
  CHECK(store.size() == 2);
}

/// A source that knocked once on a sequence port at `time_us`: held by the
/// matcher, idle once seq_timeout has passed.
void KnockOnce(Fixture* f, int64_t time_us, const char* source) {
  Feed(f->pipeline.get(), Syn(source, f->Sequence(time_us, 0)[0]), time_us);
}

TEST_CASE("idle sources are swept once a second, however often the loop ticks",
          "[pipeline]") {
  Fixture f;
  const int64_t timeout_us = f.config.knock.seq_timeout_ms * 1000;
  KnockOnce(&f, kT0Us, "198.19.0.9");
  REQUIRE(SourcesNow(f) == 1);
  // The first tick sweeps (nothing is idle yet); the source falls idle
  // 0.1 s later, and ticks every millisecond until a second after that
  // sweep leave it.
  const int64_t first_sweep_us = kT0Us + timeout_us - 100000;
  f.pipeline->OnTimer(first_sweep_us);
  const int64_t period_us = knock::KnockPipeline::kIdleSweepPeriodUs;
  for (int64_t t = first_sweep_us + 1000; t < first_sweep_us + period_us;
       t += 1000)
    f.pipeline->OnTimer(t);
  CHECK(SourcesNow(f) == 1);
  f.pipeline->OnTimer(first_sweep_us + period_us);
  CHECK(SourcesNow(f) == 0);
}

TEST_CASE("an idle source goes at the first tick after its timeout (control)",
          "[pipeline]") {
  Fixture f;
  const int64_t timeout_us = f.config.knock.seq_timeout_ms * 1000;
  KnockOnce(&f, kT0Us, "198.19.0.9");
  f.pipeline->OnTimer(kT0Us + timeout_us + 500000);
  CHECK(SourcesNow(f) == 0);
}

TEST_CASE("a clock set back sweeps idle sources at once", "[pipeline]") {
  Fixture f;
  const int64_t timeout_us = f.config.knock.seq_timeout_ms * 1000;
  // A sweep, then a knock stamped before it (the same window), then the
  // clock set back a second: that tick is before the next sweep was due,
  // and still sweeps the knock, idle by then.
  f.pipeline->OnTimer(kT0Us + timeout_us + 2000000);
  KnockOnce(&f, kT0Us, "198.19.0.9");
  REQUIRE(SourcesNow(f) == 1);
  f.pipeline->OnTimer(kT0Us + timeout_us + 1000000);
  CHECK(SourcesNow(f) == 0);
}

namespace {

/// Queues `frames` (stamped `time_us` + 1 ms apiece) as one delivery.
void Deliver(knock::KnockPipeline* pipeline,
             const std::vector<std::vector<uint8_t>>& frames, int64_t time_us) {
  for (const std::vector<uint8_t>& frame : frames) {
    pipeline->QueueFrame({DLT_EN10MB, frame.data(),
                          static_cast<uint32_t>(frame.size()), time_us});
    time_us += 1000;
  }
  pipeline->FlushFrames();
}

}  // namespace

TEST_CASE("a batch is matched in the order its frames came", "[pipeline]") {
  Fixture f;
  // Two sequences in one batch: matched backwards, the second would
  // complete first, at its first knock.
  std::vector<std::vector<uint8_t>> frames;
  for (uint16_t port : f.Sequence(kT0Us, 0))
    frames.push_back(Syn("198.18.0.2", port));
  for (uint16_t port : f.Sequence(kT0Us, 1))
    frames.push_back(Syn("198.18.0.3", port));
  REQUIRE(frames.size() <= knock::KnockPipeline::kBatchKnocks);
  Deliver(f.pipeline.get(), frames, kT0Us);
  REQUIRE(f.events.size() == 2);
  CHECK(f.events[0].match.source == Addr("198.18.0.2"));
  CHECK(f.events[0].match.time_us == kT0Us + 7 * 1000);
  CHECK(f.events[1].match.source == Addr("198.18.0.3"));
  CHECK(f.events[1].match.time_us == kT0Us + 15 * 1000);
}

TEST_CASE("no knock is lost or matched twice across batches", "[pipeline]") {
  Fixture f;
  constexpr size_t kBatch = knock::KnockPipeline::kBatchKnocks;
  // Noise, then a sequence across the first batch's end, then noise to
  // two and a half batches.
  std::vector<std::vector<uint8_t>> frames;
  for (size_t i = 0; i + 3 < kBatch; ++i)
    frames.push_back(Syn(("198.19.0." + std::to_string(i + 1)).c_str(), 20000));
  for (uint16_t port : f.Sequence(kT0Us, 0))
    frames.push_back(Syn("198.18.0.2", port));
  while (frames.size() < 2 * kBatch + kBatch / 2)
    frames.push_back(
        Syn(("198.19.1." + std::to_string(frames.size())).c_str(), 20001));
  int64_t t = kT0Us;
  for (const std::vector<uint8_t>& frame : frames) {
    f.pipeline->QueueFrame(
        {DLT_EN10MB, frame.data(), static_cast<uint32_t>(frame.size()), t});
    t += 1000;
  }
  // Whole batches are matched as they fill; the rest waits for the end of
  // the delivery, and no longer.
  CHECK(f.pipeline->matcher_stats().knocks == 2 * kBatch);
  f.pipeline->FlushFrames();
  CHECK(f.pipeline->matcher_stats().knocks == frames.size());
  CHECK(f.pipeline->stats().frames == frames.size());
  REQUIRE(f.events.size() == 1);
  CHECK(f.events[0].match.source == Addr("198.18.0.2"));
  CHECK(f.pipeline->matcher_stats().duplicates_ignored == 0);
  f.pipeline->FlushFrames();
  CHECK(f.pipeline->matcher_stats().knocks == frames.size());
}

TEST_CASE("a new source twice in one batch is one source", "[pipeline]") {
  Fixture f;
  // Its first knock inserts it; every later one, prefetched before that
  // insertion, must still find it.
  const std::vector<uint16_t> ports = f.Sequence(kT0Us, 0);
  std::vector<std::vector<uint8_t>> frames;
  for (size_t i = 0; i < ports.size(); ++i) {
    frames.push_back(Syn("198.18.0.2", ports[i]));
    if (i == 2) frames.push_back(Syn("198.18.0.2", ports[i]));
  }
  REQUIRE(frames.size() <= knock::KnockPipeline::kBatchKnocks);
  Deliver(f.pipeline.get(), frames, kT0Us);
  REQUIRE(f.events.size() == 1);
  CHECK(f.events[0].match.verdict == knock::Verdict::kGranted);
  CHECK(f.pipeline->matcher_stats().duplicates_ignored == 1);
  CHECK(SourcesNow(f) == 0);
}

TEST_CASE("batched matching decides exactly as frame by frame", "[pipeline]") {
  // A small table, so that sources are evicted inside batches too, and a
  // stream of noise, sequences, replays and duplicates from few sources.
  Fixture one(Fixture(), 24);
  Fixture batched(one, 24);
  std::mt19937 rng(7);
  std::vector<std::vector<uint8_t>> frames;
  std::vector<int64_t> times;
  int64_t t = kT0Us;
  for (int round = 0; round < 60; ++round) {
    const std::string client = "198.18.2." + std::to_string(1 + rng() % 6);
    const std::vector<uint16_t> ports =
        one.Sequence(t, static_cast<uint8_t>(rng() % 4));
    for (uint16_t port : ports) {
      for (uint32_t n = rng() % 6; n > 0; --n) {
        // Half on some sequence's port: only those sources are tracked.
        const std::string spoofed = "198.19.3." + std::to_string(rng() % 40);
        const uint16_t noise =
            rng() % 2
                ? static_cast<uint16_t>(16384 + rng() % 16384)
                : one.Sequence(t, static_cast<uint8_t>(rng() % 4))[rng() % 8];
        frames.push_back(Syn(spoofed.c_str(), noise));
        times.push_back(t += 100);
      }
      frames.push_back(Syn(client.c_str(), port));
      times.push_back(t += 100);
      if (rng() % 8 == 0) {
        frames.push_back(Syn(client.c_str(), port));
        times.push_back(t += 100);
      }
    }
  }
  for (size_t i = 0; i < frames.size(); ++i)
    one.pipeline->OnFrame({DLT_EN10MB, frames[i].data(),
                           static_cast<uint32_t>(frames[i].size()), times[i]});
  // Deliveries of every size, many spanning several batches.
  for (size_t i = 0; i < frames.size();) {
    const size_t end = std::min(frames.size(), i + rng() % 50);
    for (; i < end; ++i)
      batched.pipeline->QueueFrame({DLT_EN10MB, frames[i].data(),
                                    static_cast<uint32_t>(frames[i].size()),
                                    times[i]});
    batched.pipeline->FlushFrames();
  }
  CHECK(batched.pipeline->CountersLine() == one.pipeline->CountersLine());
  CHECK(one.pipeline->evictions() > 100);
  CHECK(one.pipeline->matcher_stats().duplicates_ignored > 10);
  CHECK(one.events.size() > 20);
  REQUIRE(batched.events.size() == one.events.size());
  for (size_t i = 0; i < one.events.size(); ++i) {
    CHECK(batched.events[i].match.source == one.events[i].match.source);
    CHECK(batched.events[i].match.verdict == one.events[i].match.verdict);
    CHECK(batched.events[i].match.time_us == one.events[i].match.time_us);
    CHECK(batched.events[i].match.ports == one.events[i].match.ports);
  }
}
