// bench_flood_matching: the sniffer's matching of a flood, without the
// capture and the wake-ups around it. The frames are bench_syn_flood's
// (a pool of 65,536 SYNs from random sources in 198.19.0.0/16 to random
// ports of the knock range, sent over and over); those the capture filter
// would pass (ports of the live windows) are fed to the sniffer's own
// KnockPipeline in drains, as its loop does, on a simulated clock moving
// at the flood's rate. Prints the process CPU per delivered frame: a
// figure that a loaded box disturbs far less than the live flood's, for
// comparing builds back to back (bench/flood_profile.sh measures the whole).
//
//   bench_flood_matching -c SERVER_CONF [--seconds S] [--pps R]
//                        [--drain-us U]
// Prints "key value" lines.

#include <pcap/dlt.h>
#include <sodium.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/flood_pool.h"
#include "common/key_file.h"
#include "knockd/helper/no_firewall.h"
#include "knockd/shared/logger.h"
#include "knockd/sniffer/knock_matcher.h"
#include "knockd/sniffer/knock_pipeline.h"
#include "tests/tools/flood_frame.h"

namespace {

constexpr int64_t kMicrosPerSecond = 1000000;

double CpuMs() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return now.tv_sec * 1e3 + now.tv_nsec / 1e6;
}

struct Options {
  std::string config_path;
  double seconds = 10;
  long pps = 280000;
  long drain_us = 1000;
};

bool ParseOptions(int argc, char** argv, Options* o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "-c")
      o->config_path = argv[i + 1];
    else if (flag == "--seconds")
      o->seconds = atof(argv[i + 1]);
    else if (flag == "--pps")
      o->pps = atol(argv[i + 1]);
    else if (flag == "--drain-us")
      o->drain_us = atol(argv[i + 1]);
    else
      return false;
  }
  return !o->config_path.empty() && argc % 2 == 1 && o->pps > 0 &&
         o->drain_us > 0 && o->seconds > 0;
}

// The ports a knock can use at the centre window: what the exact capture
// filter passes between rolls (it adds a window near a roll).
std::vector<bool> LivePorts(const knock::KnockMatcher& matcher,
                            const knock::ServerConfig& config) {
  const knock::SequenceTable& table = matcher.table();
  const uint64_t centre = table.current_window();
  const auto skew = static_cast<uint64_t>(config.knock.skew);
  std::vector<bool> live(65536, false);
  for (uint32_t port = config.knock.ports.first;
       port <= config.knock.ports.last; ++port) {
    for (uint32_t id : table.SequencesWith(static_cast<uint16_t>(port))) {
      const uint64_t window = table.sequence(id).owner.window;
      if (window + skew >= centre && window <= centre + skew) live[port] = true;
    }
  }
  return live;
}

// bench_syn_flood's packets over the whole knock range (its flood-alone
// runs), those the filter passes as frames, the others as nothing: they
// never reach the sniffer.
std::vector<std::vector<uint8_t>> DeliveredPool(
    const knock::ServerConfig& config, const std::vector<bool>& live) {
  std::vector<uint16_t> range;
  for (uint32_t port = config.knock.ports.first;
       port <= config.knock.ports.last; ++port)
    range.push_back(static_cast<uint16_t>(port));
  knock::FrameMacs macs;
  knock::IpAddress dest;
  std::string err;
  knock::IpAddress::Parse("198.18.0.1", &dest, &err);
  std::vector<std::vector<uint8_t>> pool;
  for (const knock::FloodPacket& packet : knock::FloodPool(12345, range))
    pool.push_back(live[packet.port]
                       ? knock::BuildFloodFrame(macs, knock::Transport::kTcp,
                                                packet.source, dest,
                                                packet.source_port, packet.port)
                       : std::vector<uint8_t>());
  return pool;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseOptions(argc, argv, &o)) {
    fprintf(stderr,
            "usage: bench_flood_matching -c CONF [--seconds S] [--pps R] "
            "[--drain-us U]\n");
    return 2;
  }
  if (sodium_init() < 0) return 1;
  knock::ServerConfig config;
  knock::PrivateKey key;
  std::string err;
  if (!knock::LoadServerConfig(o.config_path, &config, &err) ||
      !knock::ReadPrivateKeyFile(config.private_key_file, &key, &err)) {
    fprintf(stderr, "bench_flood_matching: %s\n", err.c_str());
    return 1;
  }
  // Mid-step, so no roll falls inside a run shorter than half a step (the
  // live ports are taken once, at the start).
  const int64_t step_us = config.knock.step_seconds * kMicrosPerSecond;
  const int64_t start_us =
      (int64_t(time(nullptr)) * kMicrosPerSecond / step_us) * step_us +
      step_us / 2;
  knock::ReplayStore store;
  knock::KnockMatcher live_ports_of(config, &store, 42);
  if (!live_ports_of.Init(key, &err)) {
    fprintf(stderr, "bench_flood_matching: %s\n", err.c_str());
    return 1;
  }
  live_ports_of.AdvanceTo(start_us);
  const std::vector<bool> live = LivePorts(live_ports_of, config);

  knock::NoFirewall firewall;
  knock::Logger logger("bench_flood_matching");
  logger.set_min_level(knock::LogLevel::kError);
  knock::KnockPipeline pipeline(&config, &firewall, &store, &logger, 42);
  pipeline.set_live_clock(true);
  if (!pipeline.Init(key, &err)) {
    fprintf(stderr, "bench_flood_matching: %s\n", err.c_str());
    return 1;
  }
  pipeline.OnTimer(start_us);

  const std::vector<std::vector<uint8_t>> pool = DeliveredPool(config, live);
  const long packets = long(o.seconds * o.pps);
  const double packet_us = 1e6 / double(o.pps);
  long delivered = 0;
  size_t next = 0;
  const double cpu0 = CpuMs();
  for (long sent = 0; sent < packets;) {
    const int64_t drain_end_us =
        start_us +
        int64_t((double(sent) * packet_us) / o.drain_us + 1) * o.drain_us;
    // The frames of one drain: those sent since the last.
    for (; sent < packets &&
           start_us + int64_t(double(sent) * packet_us) < drain_end_us;
         ++sent, next = (next + 1) % pool.size()) {
      const std::vector<uint8_t>& bytes = pool[next];
      if (bytes.empty()) continue;
      knock::Frame frame;
      frame.link_type = DLT_EN10MB;
      frame.data = bytes.data();
      frame.length = static_cast<uint32_t>(bytes.size());
      frame.time_us = start_us + int64_t(double(sent) * packet_us);
      pipeline.QueueFrame(frame);
      ++delivered;
    }
    pipeline.FlushFrames();
    pipeline.OnTimer(drain_end_us);
  }
  const double cpu_ms = CpuMs() - cpu0;
  printf("flood_packets %ld\nframes_delivered %ld\ndelivered_pct %.1f\n",
         packets, delivered, 100.0 * double(delivered) / double(packets));
  printf("cpu_ms %.1f\nns_per_frame %.1f\nns_per_flood_packet %.1f\n", cpu_ms,
         cpu_ms * 1e6 / double(delivered), cpu_ms * 1e6 / double(packets));
  printf("sources %u\n%s\n", pipeline.sources(),
         pipeline.CountersLine().c_str());
  return 0;
}
