#pragma once
// knockd's metrics for Prometheus, through node_exporter's textfile
// collector: the helper rewrites `metrics_file` (write a temporary file,
// rename it over) every few seconds and at stop, so the collector never
// reads half a file.

#include <cstdint>
#include <string>

#include "knockd/shared/privsep_message.h"

namespace knock {

/// Everything the metrics file reports: what the helper decided and
/// enforced, and what the sniffer last said it counted.
struct DaemonMetrics {
  uint64_t grants = 0;
  uint64_t refreshes = 0;
  uint64_t replays = 0;
  uint64_t expired = 0;
  uint64_t firewall_errors = 0;
  uint64_t reloads = 0;
  uint64_t reloads_refused = 0;
  /// Times a sniffer failed (died or misbehaved) and took knockd down, so
  /// that systemd started it again; carried over from the previous file.
  uint64_t sniffer_restarts = 0;
  uint64_t open_holes = 0;  // gauge: grants whose hole has not run out
  int64_t start_time_seconds = 0;
  SnifferStats sniffer;
};

/// The Prometheus text exposition format, every metric with HELP and TYPE.
std::string FormatMetrics(const DaemonMetrics& metrics);

/// Writes `text` to `path` atomically (0644): `path`.tmp, then rename.
bool WriteMetricsFile(const std::string& path, const std::string& text,
                      std::string* err);

/// The knockd_sniffer_restarts_total a previous run left in `path` (0 if
/// none), so that the count survives the restart it counts.
uint64_t ReadSnifferRestarts(const std::string& path);

}  // namespace knock
