#include "knockd/helper/metrics_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace knock {

namespace {

constexpr mode_t kMetricsFileMode = 0644;
constexpr char kRestartsName[] = "knockd_sniffer_restarts_total";

void Metric(std::string* out, const char* name, const char* type,
            const char* help, uint64_t value) {
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name +
          " " + type + "\n" + name + " " + std::to_string(value) + "\n";
}

}  // namespace

std::string FormatMetrics(const DaemonMetrics& m) {
  std::string out;
  Metric(&out, "knockd_grants_total", "counter",
         "Holes opened for a first use of a sequence.", m.grants);
  Metric(&out, "knockd_refreshes_total", "counter",
         "Live holes extended by the same source knocking again.", m.refreshes);
  Metric(&out, "knockd_replays_total", "counter",
         "Sequences refused because they were used before.", m.replays);
  Metric(&out, "knockd_expired_total", "counter",
         "Sequences refused because their window was too old.", m.expired);
  Metric(&out, "knockd_firewall_errors_total", "counter",
         "Grants the firewall backend failed to open.", m.firewall_errors);
  Metric(&out, "knockd_reloads_total", "counter",
         "Configuration reloads taken.", m.reloads);
  Metric(&out, "knockd_reloads_refused_total", "counter",
         "Configuration reloads refused.", m.reloads_refused);
  Metric(&out, kRestartsName, "counter",
         "Times a failed sniffer took knockd down to be started again.",
         m.sniffer_restarts);
  Metric(&out, "knockd_open_holes", "gauge", "Grants whose hole is open now.",
         m.open_holes);
  Metric(&out, "knockd_start_time_seconds", "gauge",
         "When this knockd started, in seconds since the epoch.",
         static_cast<uint64_t>(m.start_time_seconds));
  Metric(&out, "knockd_capture_received_total", "counter",
         "Frames the kernel handed to the capture.",
         m.sniffer.capture_received);
  Metric(&out, "knockd_capture_dropped_total", "counter",
         "Frames the kernel dropped because the capture buffer was full.",
         m.sniffer.capture_dropped);
  Metric(&out, "knockd_frames_total", "counter", "Frames the sniffer decoded.",
         m.sniffer.frames);
  Metric(&out, "knockd_knocks_total", "counter", "Knocks into the knock range.",
         m.sniffer.knocks);
  Metric(&out, "knockd_source_evictions_total", "counter",
         "Sources forgotten to make room for new ones.", m.sniffer.evictions);
  Metric(&out, "knockd_sources", "gauge", "Sources with knocks in flight.",
         m.sniffer.sources);
  return out;
}

bool WriteMetricsFile(const std::string& path, const std::string& text,
                      std::string* err) {
  // Not "*.prom": the collector must not read the temporary file.
  const std::string temp = path + ".tmp";
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                      kMetricsFileMode);
  if (fd < 0) {
    *err = temp + ": cannot write the metrics (" + strerror(errno) + ")";
    return false;
  }
  // Readable by the collector's account whatever knockd's umask (the unit
  // sets 0077).
  const bool wrote =
      fchmod(fd, kMetricsFileMode) == 0 &&
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int saved = errno;
  close(fd);
  if (!wrote || rename(temp.c_str(), path.c_str()) != 0) {
    *err = path + ": cannot write the metrics (" +
           strerror(wrote ? errno : saved) + ")";
    unlink(temp.c_str());
    return false;
  }
  return true;
}

uint64_t ReadSnifferRestarts(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  const std::string prefix = std::string(kRestartsName) + " ";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    try {
      return std::stoull(line.substr(prefix.size()));
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

}  // namespace knock
