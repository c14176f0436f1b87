// scan_memory: counts where byte strings occur in a live process's memory.
// Walks /proc/PID/maps and reads every readable region through
// /proc/PID/mem (root with CAP_SYS_PTRACE may, even of an undumpable
// process). The end-to-end tests use it to show that the sniffer holds no
// key.
//
//   scan_memory PID HEX [HEX...]   prints "HEX COUNT" per string; exit 0
//                                  unless the memory could not be read

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

// Larger readable mappings are reservations, not memory a process filled:
// a sanitizer's shadow (terabytes, almost all never touched). The helper's
// key, found by the same scan, is the control that the heap was read.
constexpr uint64_t kMaxRegionBytes = uint64_t{4} << 30;
// Regions are read in pieces, overlapping by a needle's length.
constexpr size_t kChunkBytes = size_t{16} << 20;

bool FromHex(const std::string& hex, std::string* out) {
  if (hex.empty() || hex.size() % 2 != 0) return false;
  for (size_t i = 0; i < hex.size(); i += 2) {
    unsigned value = 0;
    if (sscanf(hex.c_str() + i, "%2x", &value) != 1) return false;
    out->push_back(static_cast<char>(value));
  }
  return true;
}

/// Occurrences of `needle` in `haystack` that start before `limit`, so that
/// overlapping chunks count each occurrence once.
size_t Count(const std::string& haystack, const std::string& needle,
             size_t limit) {
  size_t count = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos && at < limit;
       at = haystack.find(needle, at + 1))
    ++count;
  return count;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: scan_memory PID HEX [HEX...]\n");
    return 2;
  }
  const std::string pid = argv[1];
  std::vector<std::string> needles;
  for (int i = 2; i < argc; ++i) {
    std::string bytes;
    if (!FromHex(argv[i], &bytes)) {
      fprintf(stderr, "scan_memory: not hex: %s\n", argv[i]);
      return 2;
    }
    needles.push_back(bytes);
  }
  std::ifstream maps("/proc/" + pid + "/maps");
  const int mem = open(("/proc/" + pid + "/mem").c_str(), O_RDONLY);
  if (!maps || mem < 0) {
    perror("scan_memory: /proc/PID/maps or mem");
    return 1;
  }
  size_t overlap = 0;
  for (const std::string& needle : needles)
    overlap = std::max(overlap, needle.size() - 1);
  std::vector<size_t> counts(needles.size(), 0);
  size_t regions = 0;
  size_t skipped = 0;
  size_t bytes_read = 0;
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream fields(line);
    std::string range, perms;
    fields >> range >> perms;
    if (perms.empty() || perms[0] != 'r') continue;
    // The kernel's vvar page cannot be read through mem; nothing of ours is
    // there.
    if (line.find("[vvar") != std::string::npos) continue;
    const uint64_t start =
        std::stoull(range.substr(0, range.find('-')), nullptr, 16);
    const uint64_t end =
        std::stoull(range.substr(range.find('-') + 1), nullptr, 16);
    if (end - start > kMaxRegionBytes) {
      ++skipped;
      continue;
    }
    bool read_any = false;
    for (uint64_t at = start; at < end; at += kChunkBytes) {
      const size_t in_region =
          static_cast<size_t>(std::min<uint64_t>(end - at, kChunkBytes));
      std::string chunk(in_region + overlap, '\0');
      const ssize_t got =
          pread(mem, chunk.data(), chunk.size(), static_cast<off_t>(at));
      if (got <= 0) break;
      chunk.resize(static_cast<size_t>(got));
      read_any = true;
      const size_t fresh = std::min(chunk.size(), in_region);
      bytes_read += fresh;
      for (size_t i = 0; i < needles.size(); ++i)
        counts[i] += Count(chunk, needles[i], fresh);
    }
    if (read_any) ++regions;
  }
  close(mem);
  if (regions == 0) {
    fprintf(stderr, "scan_memory: no region of %s could be read\n",
            pid.c_str());
    return 1;
  }
  fprintf(stderr,
          "scan_memory: %zu regions, %zu bytes; %zu reservations over 4 GiB "
          "skipped\n",
          regions, bytes_read, skipped);
  for (size_t i = 0; i < needles.size(); ++i)
    printf("%s %zu\n", argv[i + 2], counts[i]);
  return 0;
}
