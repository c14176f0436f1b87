// The metrics file for node_exporter's textfile collector: its exact
// format, the atomic rewrite, and the restart count carried across runs.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "knockd/helper/metrics_file.h"

namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

}  // namespace

TEST_CASE("Metrics are in Prometheus's text format with HELP and TYPE") {
  knock::DaemonMetrics metrics;
  metrics.grants = 7;
  metrics.open_holes = 2;
  metrics.sniffer.capture_dropped = 18446744073709551615ULL;
  metrics.sniffer.sources = 3;
  const std::string text = knock::FormatMetrics(metrics);
  CHECK(text.rfind("# HELP knockd_grants_total Holes opened for a first use "
                   "of a sequence.\n# TYPE knockd_grants_total counter\n"
                   "knockd_grants_total 7\n",
                   0) == 0);
  CHECK(text.find("# TYPE knockd_open_holes gauge\nknockd_open_holes 2\n") !=
        std::string::npos);
  CHECK(text.find("knockd_capture_dropped_total 18446744073709551615\n") !=
        std::string::npos);
  CHECK(text.find("# TYPE knockd_sources gauge\nknockd_sources 3\n") !=
        std::string::npos);
  for (const char* name :
       {"knockd_refreshes_total", "knockd_replays_total",
        "knockd_expired_total", "knockd_capture_received_total",
        "knockd_source_evictions_total", "knockd_sniffer_restarts_total"}) {
    INFO(name);
    CHECK(text.find(std::string("\n") + name + " 0\n") != std::string::npos);
  }
}

TEST_CASE("The metrics file is replaced whole and the restarts carry over") {
  const std::string dir = std::filesystem::temp_directory_path().string() +
                          "/knockd-metrics-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/knockd.prom";
  std::string err;
  CHECK(knock::ReadSnifferRestarts(path) == 0);
  knock::DaemonMetrics metrics;
  metrics.sniffer_restarts = 4;
  REQUIRE(knock::WriteMetricsFile(path, knock::FormatMetrics(metrics), &err));
  CHECK(ReadAll(path) == knock::FormatMetrics(metrics));
  struct stat info;
  REQUIRE(stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0644);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
  CHECK(knock::ReadSnifferRestarts(path) == 4);
  std::filesystem::remove_all(dir);
  CHECK_FALSE(knock::WriteMetricsFile(path, "x", &err));
  CHECK(err == path +
                   ".tmp: cannot write the metrics (No such file or "
                   "directory)");
}

TEST_CASE("The metrics file stays readable by the collector under umask 0077") {
  // The unit runs knockd with UMask=0077; node_exporter reads as another
  // account.
  const std::string dir = std::filesystem::temp_directory_path().string() +
                          "/knockd-metrics-umask-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/knockd.prom";
  const mode_t saved = umask(0077);
  std::string err;
  const bool wrote = knock::WriteMetricsFile(path, "x 1\n", &err);
  umask(saved);
  REQUIRE(wrote);
  struct stat info;
  REQUIRE(stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0644);
  std::filesystem::remove_all(dir);
}
