#include "knockd/helper/listening_sockets.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>

namespace knock {

namespace {

constexpr char kTcpListenState[] = "0A";

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

bool ParseNumber(std::string_view text, int base, uint64_t* out) {
  if (text.empty()) return false;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), *out, base);
  return ec == std::errc() && end == text.data() + text.size();
}

bool ParseHex(std::string_view text, uint64_t* out) {
  return ParseNumber(text, 16, out);
}

// "0100007F:0CEA" -> port 0x0CEA; the address part only has to be hex.
bool ParseEndpoint(std::string_view text, uint16_t* port, bool* all_zero) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const std::string_view address = text.substr(0, colon);
  uint64_t port_value = 0;
  if (!ParseHex(text.substr(colon + 1), &port_value) || port_value > 0xffff) {
    return false;
  }
  for (char c : address) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  *port = static_cast<uint16_t>(port_value);
  *all_zero = port_value == 0 &&
              address.find_first_not_of('0') == std::string_view::npos;
  return true;
}

// Fields: sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
bool ParseLine(std::string_view line, Transport transport,
               const PortRange& range, std::vector<Listener>* out) {
  const std::vector<std::string_view> fields = Fields(line);
  if (fields.size() < 10) return false;
  uint16_t local_port = 0, remote_port = 0;
  bool local_zero = false, remote_zero = false;
  uint64_t state = 0, inode = 0;
  if (!ParseEndpoint(fields[1], &local_port, &local_zero) ||
      !ParseEndpoint(fields[2], &remote_port, &remote_zero) ||
      !ParseHex(fields[3], &state) || !ParseNumber(fields[9], 10, &inode)) {
    return false;
  }
  const bool bound =
      transport == Transport::kTcp ? fields[3] == kTcpListenState : remote_zero;
  if (bound && range.Contains(local_port)) {
    out->push_back(Listener{transport, local_port, inode, 0, ""});
  }
  return true;
}

bool ReadFile(const std::string& path, std::string* text, int* error) {
  std::ifstream in(path);
  if (!in) {
    *error = errno;
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  *text = buffer.str();
  return true;
}

bool ScanProcNet(const std::string& path, Transport transport,
                 const PortRange& range, bool optional,
                 std::vector<Listener>* out, std::string* err) {
  std::string text;
  int error = 0;
  if (!ReadFile(path, &text, &error)) {
    if (optional && error == ENOENT) return true;
    *err = "cannot read " + path + ": " + std::strerror(error);
    return false;
  }
  return ParseProcNetListeners(text, transport, range, path, out, err);
}

std::string Comm(const std::string& pid) {
  std::string text;
  int error = 0;
  if (!ReadFile("/proc/" + pid + "/comm", &text, &error)) return "";
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

// Looks through one process's descriptors for sockets still unclaimed.
void ScanProcess(const std::string& pid,
                 std::unordered_map<uint64_t, std::vector<Listener*>>* wanted) {
  const std::string fd_dir = "/proc/" + pid + "/fd";
  DIR* dir = opendir(fd_dir.c_str());
  if (dir == nullptr) return;
  while (dirent* entry = readdir(dir)) {
    char link[64] = {};
    const std::string path = fd_dir + "/" + entry->d_name;
    if (readlink(path.c_str(), link, sizeof link - 1) < 0) continue;
    uint64_t inode = 0;
    if (std::sscanf(link, "socket:[%" SCNu64 "]", &inode) != 1) continue;
    auto it = wanted->find(inode);
    if (it == wanted->end()) continue;
    const std::string comm = Comm(pid);
    for (Listener* listener : it->second) {
      listener->pid = std::atoi(pid.c_str());
      listener->process = comm;
    }
    wanted->erase(it);
  }
  closedir(dir);
}

}  // namespace

bool ParseProcNetListeners(std::string_view text, Transport transport,
                           const PortRange& range, const std::string& source,
                           std::vector<Listener>* out, std::string* err) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    const std::vector<std::string_view> fields = Fields(line);
    if (fields.empty() || fields[0] == "sl") continue;
    if (!ParseLine(line, transport, range, out)) {
      *err = "malformed line in " + source + ": \"" + std::string(line) + "\"";
      return false;
    }
  }
  return true;
}

void FindListenerProcesses(std::vector<Listener>* listeners) {
  std::unordered_map<uint64_t, std::vector<Listener*>> wanted;
  for (Listener& listener : *listeners) {
    wanted[listener.inode].push_back(&listener);
  }
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return;
  while (!wanted.empty()) {
    dirent* entry = readdir(proc);
    if (entry == nullptr) break;
    const std::string name = entry->d_name;
    if (name.empty() ||
        name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    ScanProcess(name, &wanted);
  }
  closedir(proc);
}

bool FindListenersInRange(const PortRange& range, KnockProtocol protocol,
                          std::vector<Listener>* out, std::string* err) {
  std::vector<Listener> found;
  if (protocol != KnockProtocol::kUdp) {
    if (!ScanProcNet("/proc/self/net/tcp", Transport::kTcp, range, false,
                     &found, err) ||
        !ScanProcNet("/proc/self/net/tcp6", Transport::kTcp, range, true,
                     &found, err)) {
      return false;
    }
  }
  if (protocol != KnockProtocol::kTcp) {
    if (!ScanProcNet("/proc/self/net/udp", Transport::kUdp, range, false,
                     &found, err) ||
        !ScanProcNet("/proc/self/net/udp6", Transport::kUdp, range, true,
                     &found, err)) {
      return false;
    }
  }
  if (!found.empty()) FindListenerProcesses(&found);
  *out = std::move(found);
  return true;
}

std::string FormatListenerRefusal(const PortRange& range,
                                  const std::vector<Listener>& listeners) {
  std::vector<std::string> items;
  for (const Listener& listener : listeners) {
    std::string item = std::string(TransportName(listener.transport)) + "/" +
                       std::to_string(listener.port) + " (";
    if (listener.pid <= 0) {
      item += "pid unknown";
    } else {
      item += "pid " + std::to_string(listener.pid);
      if (!listener.process.empty()) item += " " + listener.process;
    }
    item += ")";
    if (std::find(items.begin(), items.end(), item) == items.end()) {
      items.push_back(item);
    }
  }
  std::string text = "knock range " + range.ToString();
  text += items.size() == 1 ? " holds a listening socket: "
                            : " holds listening sockets: ";
  for (size_t i = 0; i < items.size(); ++i) {
    text += (i > 0 ? ", " : "") + items[i];
  }
  text += items.size() == 1 ? "; move the service or the knock range"
                            : "; move the services or the knock range";
  return text;
}

}  // namespace knock
