#include "knockd/shared/legacy_config_migration.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <sstream>

namespace knock {

namespace {

// knockd 0.8's keys that name a command opening the door.
constexpr const char* kOpenCommandKeys[] = {"start_command", "command"};
constexpr int kMaxServiceNameBytes = 64;

std::string Trim(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const size_t last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

std::string Lower(std::string text) {
  for (char& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool IsDecimalPort(const std::string& text) {
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), ::isdigit))
    return false;
  const int port = std::stoi(text);
  return port >= 1 && port <= 65535;
}

/// "tcp/22" for every port a firewall command opens; ranges and anything
/// unreadable go to `notes`.
std::vector<std::string> PortsOfCommand(const std::string& command,
                                        std::vector<std::string>* notes) {
  std::string proto;
  std::smatch m;
  static const std::regex kIptablesProto(
      R"((?:^|\s)(?:-p|--protocol)\s+(tcp|udp)\b)");
  static const std::regex kIptablesPorts(
      R"((?:--dports?|--destination-ports?)\s+([0-9,:]+))");
  static const std::regex kNft(R"(\b(tcp|udp)\s+dport\s+(\{[^}]*\}|[0-9-]+))");
  static const std::regex kUfw(
      R"(\bport\s+([0-9,:]+)(?:\s+proto\s+(tcp|udp))?)");
  static const std::regex kFirewalld(
      R"re(port="([0-9-]+)"\s+protocol="(tcp|udp)")re");
  // knockd 0.8's own iptables helper (Debian's knock_helper_ipt.sh, which
  // its sample configuration calls knock_add): -d PORT, -p PROTO, tcp by
  // default.
  static const std::regex kKnockHelper(
      R"(\bknock_(?:add|helper_ipt)\S*\s.*(?:^|\s)(?:-d|--dstport)\s+([0-9]+))");
  static const std::regex kKnockHelperProto(
      R"((?:^|\s)(?:-p|--proto)\s+(tcp|udp)\b)");
  std::string list;
  std::vector<std::string> protos;
  if (std::regex_search(command, m, kKnockHelper)) {
    list = m[1];
    std::smatch p;
    protos = {std::regex_search(command, p, kKnockHelperProto) ? p[1].str()
                                                               : "tcp"};
  } else if (std::regex_search(command, m, kIptablesPorts)) {
    list = m[1];
    std::smatch p;
    protos = {std::regex_search(command, p, kIptablesProto) ? p[1].str() : ""};
  } else if (std::regex_search(command, m, kNft)) {
    list = m[2];
    protos = {m[1]};
  } else if (std::regex_search(command, m, kFirewalld)) {
    list = m[1];
    protos = {m[2]};
  } else if (std::regex_search(command, m, kUfw)) {
    list = m[1];
    // ufw without "proto" opens both.
    protos = m[2].matched ? std::vector<std::string>{m[2]}
                          : std::vector<std::string>{"tcp", "udp"};
  } else {
    notes->push_back("no port found in: " + command);
    return {};
  }
  if (protos.size() == 1 && protos[0].empty()) {
    notes->push_back("no protocol given, tcp assumed: " + command);
    protos[0] = "tcp";
  }
  std::vector<std::string> out;
  std::string item;
  std::replace_if(
      list.begin(), list.end(),
      [](char c) { return c == ',' || c == '{' || c == '}'; }, ' ');
  std::istringstream items(list);
  while (items >> item) {
    if (!IsDecimalPort(item)) {
      notes->push_back("port range " + item +
                       " not carried over (list each port in ports)");
      continue;
    }
    for (const std::string& p : protos) {
      const std::string spec = p + "/" + item;
      if (std::find(out.begin(), out.end(), spec) == out.end())
        out.push_back(spec);
    }
  }
  return out;
}

/// A knockd.toml service name from a door's: "openSSH" gives "ssh".
std::string ServiceNameFor(const std::string& door) {
  std::string name = Lower(door);
  if (name.rfind("open", 0) == 0 && name.size() > 4) name = name.substr(4);
  std::string out;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')
      out += c;
    else
      out += '_';
  }
  while (!out.empty() && (out.front() == '_' || out.front() == '-'))
    out.erase(0, 1);
  if (out.empty()) out = "door";
  return out.substr(0, kMaxServiceNameBytes);
}

std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

/// A door that only removes what another opened (iptables -D, ufw delete,
/// nft delete, --remove-rich-rule, knock_add -x): knockd closes holes by
/// itself.
bool IsClosingCommand(const std::string& command) {
  static const std::regex kClosing(
      R"((?:^|\s)(?:-D|--delete)\s|\bdelete\b|--remove-)");
  static const std::regex kKnockHelperDelete(
      R"(\bknock_(?:add|helper_ipt)\S*\s(?:.*\s)?-x(?:\s|$))");
  return std::regex_search(command, kClosing) ||
         std::regex_search(command, kKnockHelperDelete);
}

/// One [service.NAME] to write, with the doors it came from.
struct MigratedService {
  std::string name;
  std::vector<std::string> ports;
  int open_for_seconds = 0;
  std::vector<std::string> comments;
};

void MigrateOptions(const LegacySection& options, std::ostringstream* top,
                    std::ostringstream* notes) {
  for (const LegacySection::Entry& entry : options.entries) {
    const std::string where = "line " + std::to_string(entry.line) + ": ";
    if (entry.key == "interface") {
      *top << "interfaces = [" << Quote(entry.value) << "]\n";
    } else if (entry.key == "usesyslog") {
      *top << "syslog = true\n";
    } else if (entry.key == "logfile") {
      *notes << "# " << where << "LogFile " << entry.value
             << ": knockd logs to stderr (the journal under systemd) and, "
                "sealed, to audit_log\n";
    } else if (entry.key == "pidfile") {
      *notes << "# " << where
             << "PidFile: knockd writes <state_dir>/knockd.pid itself\n";
    } else {
      *notes << "# " << where << "[options] " << entry.key
             << " has no counterpart\n";
    }
  }
}

void MigrateDoor(const LegacySection& door, std::vector<MigratedService>* out,
                 std::ostringstream* notes) {
  std::string command;
  for (const char* key : kOpenCommandKeys) {
    if (!door.Get(key).empty()) {
      command = door.Get(key);
      break;
    }
  }
  const std::string where =
      "[" + door.name + "] (line " + std::to_string(door.line) + ")";
  *notes << "# " << where << ": sequence " << door.Get("sequence")
         << " is not carried over (see the end of this file)\n";
  if (command.empty()) {
    *notes << "#   no command: nothing to protect\n";
    return;
  }
  if (IsClosingCommand(command)) {
    *notes << "#   it only closes (" << command
           << "): knockd closes every hole itself after open_for\n";
    return;
  }
  for (const char* key : {"tcpflags", "target", "one_time_sequences"}) {
    if (door.Get(key).empty()) continue;
    *notes << "#   " << key << " = " << door.Get(key)
           << (std::string(key) == "one_time_sequences"
                   ? ": every knock/v1 sequence is one-time already\n"
                   : ": no counterpart\n");
  }
  if (!door.Get("stop_command").empty())
    *notes << "#   stop_command: knockd closes the hole itself after "
              "open_for\n";
  std::vector<std::string> problems;
  MigratedService service;
  service.name = ServiceNameFor(door.name);
  service.ports = PortsOfCommand(command, &problems);
  for (const std::string& problem : problems)
    *notes << "#   " << problem << "\n";
  const std::string timeout = door.Get("cmd_timeout");
  if (IsDecimalPort(timeout)) service.open_for_seconds = std::stoi(timeout);
  service.comments.push_back("from " + where + ": " + command);
  if (service.ports.empty()) return;
  for (MigratedService& other : *out) {
    if (other.ports == service.ports) {
      other.comments.push_back(service.comments.back());
      return;
    }
    if (other.name == service.name)
      service.name += "_" + std::to_string(out->size());
  }
  out->push_back(std::move(service));
}

void WriteServices(const std::vector<MigratedService>& services,
                   std::ostringstream* out) {
  for (const MigratedService& service : services) {
    *out << "\n";
    for (const std::string& comment : service.comments)
      *out << "# " << comment << "\n";
    *out << "[service." << service.name << "]\nports = [";
    for (size_t i = 0; i < service.ports.size(); ++i)
      *out << (i ? ", " : "") << Quote(service.ports[i]);
    *out << "]\n";
    if (service.open_for_seconds > 0)
      *out << "open_for = \"" << service.open_for_seconds << "s\"\n";
  }
}

void WriteUsersAdvice(const std::vector<MigratedService>& services,
                      std::ostringstream* out) {
  std::string names;
  for (const MigratedService& service : services)
    names += (names.empty() ? "" : ",") + service.name;
  *out << "\n# Static sequences are not supported. knockd 0.8 opens for "
          "anyone who sends\n"
          "# the door's ports in order: one capture of a single knock "
          "replays it forever.\n"
          "# knock/v1 sequences are derived from each user's own key and "
          "the time, are\n"
          "# used once, and say who knocked. Move each user to a key:\n"
          "#   1. on the user's laptop:  knock init\n"
          "#      (prints a [[client]] stanza with the user's public key)\n"
          "#   2. on this server:        knockd client add NAME --key "
          "PUBKEY --services "
       << (names.empty() ? "ssh" : names)
       << "\n"
          "#      (or paste the stanza at the end of this file)\n"
          "#   3. on this server:        knockd client-config NAME\n"
          "#      and paste its [server.NAME] stanza into the laptop's "
          "knock.toml\n"
          "#   4. the user knocks with:  knock SERVER\n"
          "# Until every user has moved, keep knockd 0.8 on other knock "
          "ports or hosts.\n";
}

}  // namespace

std::string LegacySection::Get(const std::string& key) const {
  for (const Entry& entry : entries) {
    if (entry.key == key) return entry.value;
  }
  return "";
}

bool ParseLegacyConfig(const std::string& text, const std::string& path,
                       std::vector<LegacySection>* out, std::string* err) {
  std::vector<LegacySection> sections;
  std::istringstream lines(text);
  std::string raw;
  for (int number = 1; std::getline(lines, raw); ++number) {
    const std::string line = Trim(raw);
    if (line.empty() || line[0] == '#') continue;
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) {
        *err = path + ":" + std::to_string(number) +
               ": a section header is [NAME] (" + Quote(line) + ")";
        return false;
      }
      sections.push_back({Trim(line.substr(1, line.size() - 2)), number, {}});
      continue;
    }
    if (sections.empty()) {
      *err = path + ":" + std::to_string(number) +
             ": a setting before any [section] (" + Quote(line) + ")";
      return false;
    }
    const size_t equals = line.find('=');
    // [options] has bare flags (UseSyslog).
    const std::string key = Lower(
        Trim(equals == std::string::npos ? line : line.substr(0, equals)));
    const std::string value =
        equals == std::string::npos ? "" : Trim(line.substr(equals + 1));
    sections.back().entries.push_back({key, value, number});
  }
  *out = std::move(sections);
  return true;
}

std::string MigrateLegacyConfig(const std::vector<LegacySection>& sections,
                                const std::string& path) {
  std::ostringstream top;
  std::ostringstream notes;
  std::vector<MigratedService> services;
  for (const LegacySection& section : sections) {
    if (Lower(section.name) == "options")
      MigrateOptions(section, &top, &notes);
    else
      MigrateDoor(section, &services, &notes);
  }
  std::ostringstream out;
  out << "# knockd.toml migrated from knockd 0.8's " << path
      << " by knockd migrate.\n"
         "# Check it (knockd -c FILE check) and read every comment.\n\n"
         "private_key_file = \"/etc/knockd/server.key\"   # knockd genkey\n"
      << top.str() << "\n# What did not carry over:\n"
      << notes.str();
  if (services.empty()) {
    out << "\n# No door's command named a port: write the services by "
           "hand, e.g.\n# [service.ssh]\n# ports = [\"tcp/22\"]\n";
  }
  WriteServices(services, &out);
  WriteUsersAdvice(services, &out);
  return out.str();
}

}  // namespace knock
