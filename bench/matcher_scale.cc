// bench_matcher_scale: the scale part of the benchmarks, on the daemon's own
// matcher. Times the start (configuration, pair keys, sequence table), the
// CPU of each window roll, and the memory with the source table filled by
// knocks from distinct sources.
//
//   bench_matcher_scale -c SERVER_CONF [--rolls N] [--fill N]
// Prints "key value" lines.

#include <sodium.h>
#include <sys/resource.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "common/key_file.h"
#include "knockd/sniffer/knock_matcher.h"

namespace {

double CpuMs() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return now.tv_sec * 1e3 + now.tv_nsec / 1e6;
}

double WallMs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec * 1e3 + now.tv_nsec / 1e6;
}

long RssKb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return atol(line.c_str() + 6);
  return -1;
}

knock::IpAddress V6Numbered(uint32_t n) {
  uint8_t bytes[16] = {0x20, 0x01, 0x0d, 0xb8, 0xbe, 0x4c};
  bytes[12] = uint8_t(n >> 24), bytes[13] = uint8_t(n >> 16);
  bytes[14] = uint8_t(n >> 8), bytes[15] = uint8_t(n);
  return knock::IpAddress::V6(bytes);
}

// Feeds one knock from each of `count` distinct sources, a millisecond
// apart, on ports spread over the range.
void Fill(knock::KnockMatcher* matcher, const knock::ServerConfig& config,
          int64_t start_us, long count) {
  knock::MatchEvent event;
  const uint32_t range = config.knock.ports.size();
  for (long i = 0; i < count; ++i) {
    knock::Knock k;
    k.source = V6Numbered(uint32_t(i));
    k.port = uint16_t(config.knock.ports.first + (i * 7919) % range);
    k.time_us = start_us + i;
    matcher->OnKnock(k, &event);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  long rolls = 3, fill = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "-c")
      path = argv[i + 1];
    else if (flag == "--rolls")
      rolls = atol(argv[i + 1]);
    else if (flag == "--fill")
      fill = atol(argv[i + 1]);
  }
  if (path.empty()) {
    fprintf(stderr,
            "usage: bench_matcher_scale -c CONF [--rolls N] [--fill N]\n");
    return 2;
  }
  // As knockd does: without it libsodium keeps its portable X25519 and
  // BLAKE2b, and the start would be timed on code the daemon never runs.
  if (sodium_init() < 0) return 1;
  const long rss_before_kb = RssKb();
  const double wall0 = WallMs(), cpu0 = CpuMs();
  knock::ServerConfig config;
  knock::PrivateKey key;
  std::string err;
  knock::ReplayStore store;
  if (!knock::LoadServerConfig(path, &config, &err) ||
      !knock::ReadPrivateKeyFile(config.private_key_file, &key, &err)) {
    fprintf(stderr, "bench_matcher_scale: %s\n", err.c_str());
    return 1;
  }
  const double wall_config = WallMs(), cpu_config = CpuMs();
  const long rss_config_kb = RssKb();
  knock::KnockMatcher matcher(config, &store, 42);
  const int64_t now_us = int64_t(time(nullptr)) * 1000000;
  if (!matcher.Init(key, &err)) {
    fprintf(stderr, "bench_matcher_scale: %s\n", err.c_str());
    return 1;
  }
  const double wall_keys = WallMs(), cpu_keys = CpuMs();
  matcher.AdvanceTo(now_us);
  const double wall_table = WallMs(), cpu_table = CpuMs();
  printf("clients %zu\nsequences %zu\nstart_wall_ms %.1f\nstart_cpu_ms %.1f\n",
         config.clients.size(), matcher.table().size(), wall_table - wall0,
         CpuMs() - cpu0);
  // Where the start goes: configuration (parsing, key checks), pair keys
  // (one X25519 per client), the first table (every sequence of 2 * skew + 2
  // windows and the port index).
  printf("start_config_ms %.1f\nstart_pair_keys_ms %.1f\nstart_table_ms %.1f\n",
         wall_config - wall0, wall_keys - wall_config, wall_table - wall_keys);
  printf("cpu_config_ms %.1f\ncpu_pair_keys_ms %.1f\ncpu_table_ms %.1f\n",
         cpu_config - cpu0, cpu_keys - cpu_config, cpu_table - cpu_keys);
  printf("sequence_table_bytes %zu\n", matcher.table().MemoryBytes());
  printf("rss_started_kb %ld\nrss_config_kb %ld\nrss_baseline_kb %ld\n",
         RssKb(), rss_config_kb, rss_before_kb);
  const int64_t step_us = config.knock.step_seconds * 1000000;
  double roll_cpu_ms = 0;
  for (long r = 1; r <= rolls; ++r) {
    const double c = CpuMs();
    matcher.AdvanceTo(now_us + r * step_us);
    roll_cpu_ms += CpuMs() - c;
  }
  if (rolls > 0) printf("roll_cpu_ms %.2f\n", roll_cpu_ms / rolls);
  if (fill > 0) {
    const double c = CpuMs();
    Fill(&matcher, config, now_us + rolls * step_us, fill);
    printf("fill_knocks %ld\nfill_cpu_ms %.1f\n", fill, CpuMs() - c);
    printf("sources_tracked %u\nsource_table_bytes %zu\nrss_full_kb %ld\n",
           matcher.sources().size(), matcher.sources().MemoryBytes(), RssKb());
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  printf("peak_rss_kb %ld\n", usage.ru_maxrss);
  return 0;
}
