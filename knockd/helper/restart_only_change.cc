#include "knockd/helper/restart_only_change.h"

#include <vector>

namespace knock {

namespace {

const char* ProtocolName(KnockProtocol protocol) {
  switch (protocol) {
    case KnockProtocol::kTcp:
      return "tcp";
    case KnockProtocol::kUdp:
      return "udp";
    case KnockProtocol::kBoth:
      return "both";
  }
  return "tcp";
}

std::string Quoted(const std::string& text) { return "\"" + text + "\""; }

std::string QuotedList(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items)
    out += (out.empty() ? "" : ", ") + Quoted(item);
  return "[" + out + "]";
}

std::string Change(const char* key, const std::string& from,
                   const std::string& to) {
  return std::string(key) + " (" + from + " -> " + to + ")";
}

}  // namespace

std::string RestartOnlyChange(const ServerConfig& running,
                              const ServerConfig& next) {
  std::vector<std::string> changes;
  if (next.interfaces != running.interfaces)
    changes.push_back(Change("interfaces", QuotedList(running.interfaces),
                             QuotedList(next.interfaces)));
  if (!(next.knock.ports == running.knock.ports))
    changes.push_back(Change("knock.ports",
                             Quoted(running.knock.ports.ToString()),
                             Quoted(next.knock.ports.ToString())));
  if (next.knock.protocol != running.knock.protocol)
    changes.push_back(Change("knock.protocol",
                             Quoted(ProtocolName(running.knock.protocol)),
                             Quoted(ProtocolName(next.knock.protocol))));
  if (next.user != running.user)
    changes.push_back(Change("user", Quoted(running.user), Quoted(next.user)));
  // The used set, the sniffer's empty root and the pid file live there.
  if (next.state_dir != running.state_dir)
    changes.push_back(
        Change("state_dir", Quoted(running.state_dir), Quoted(next.state_dir)));
  if (changes.empty()) return "";
  std::string line;
  for (size_t i = 0; i < changes.size(); ++i) {
    if (i > 0) line += i + 1 == changes.size() ? " and " : ", ";
    line += changes[i];
  }
  return line + (changes.size() == 1 ? " takes" : " take") +
         " effect on restart only (systemctl restart knockd)";
}

}  // namespace knock
