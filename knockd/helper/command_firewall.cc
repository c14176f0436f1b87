#include "knockd/helper/command_firewall.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "knockd/helper/bounded_command.h"
#include "knockd/shared/command_placeholders.h"

namespace knock {

namespace {

const std::string* ValueOf(const std::string& name,
                           const CommandValues& values) {
  if (name == "ip") return &values.ip;
  if (name == "family") return &values.family;
  if (name == "proto") return &values.proto;
  if (name == "port") return &values.port;
  if (name == "timeout") return &values.timeout;
  if (name == "client") return &values.client;
  if (name == "service") return &values.service;
  return nullptr;
}

std::string ExpandArgument(const std::string& arg,
                           const CommandValues& values) {
  std::string out;
  size_t i = 0;
  while (i < arg.size()) {
    const size_t open = arg.find('{', i);
    const size_t close =
        open == std::string::npos ? open : arg.find('}', open + 1);
    if (close == std::string::npos) break;
    out.append(arg, i, open - i);
    const std::string* value =
        ValueOf(arg.substr(open + 1, close - open - 1), values);
    out += value != nullptr ? *value : arg.substr(open, close - open + 1);
    i = close + 1;
  }
  if (i < arg.size()) out.append(arg, i, std::string::npos);
  return out;
}

int64_t WholeSecondsUp(int64_t ms) { return ms <= 0 ? 0 : (ms + 999) / 1000; }

}  // namespace

std::vector<std::string> ExpandCommand(const std::vector<std::string>& argv,
                                       const CommandValues& values) {
  std::vector<std::string> expanded;
  expanded.reserve(argv.size());
  for (const std::string& arg : argv) {
    expanded.push_back(ExpandArgument(arg, values));
  }
  return expanded;
}

bool CheckNoOptionInjected(const std::vector<std::string>& argv,
                           const std::vector<std::string>& expanded,
                           std::string* err) {
  for (size_t i = 0; i < argv.size() && i < expanded.size(); ++i) {
    const bool was_option = !argv[i].empty() && argv[i][0] == '-';
    const bool is_option = !expanded[i].empty() && expanded[i][0] == '-';
    if (is_option && !was_option) {
      *err = "argument " + std::to_string(i) + " \"" + argv[i] +
             "\" would be \"" + expanded[i] + "\", an option; not run";
      return false;
    }
  }
  return true;
}

bool CheckFirewallCommand(const std::vector<std::string>& argv,
                          std::string* err) {
  if (argv.empty()) {
    *err = "empty command";
    return false;
  }
  if (argv[0].empty() || argv[0][0] != '/') {
    *err = "command \"" + argv[0] +
           "\" is not an absolute path (commands run without a shell or PATH)";
    return false;
  }
  for (const std::string& arg : argv) {
    if (!CheckCommandPlaceholders(arg, err)) return false;
  }
  return true;
}

CommandFirewall::CommandFirewall(std::vector<std::string> open_command,
                                 std::vector<std::string> close_command,
                                 const Clock* clock, int64_t command_timeout_ms)
    : open_command_(std::move(open_command)),
      close_command_(std::move(close_command)),
      clock_(clock),
      command_timeout_ms_(command_timeout_ms) {}

bool CommandFirewall::Setup(const FirewallLayout& layout, std::string* err) {
  (void)layout;
  const std::pair<const char*, const std::vector<std::string>*> commands[] = {
      {"open_command", &open_command_}, {"close_command", &close_command_}};
  for (const auto& [key, command] : commands) {
    std::string command_err;
    if (!CheckFirewallCommand(*command, &command_err)) {
      *err = std::string(key) + ": " + command_err;
      return false;
    }
    // Found now rather than at the first grant, when nobody is watching.
    if (access((*command)[0].c_str(), X_OK) != 0) {
      *err = std::string(key) + ": \"" + (*command)[0] +
             "\" is not executable: " + std::strerror(errno);
      return false;
    }
  }
  return true;
}

CommandFirewall::Hole* CommandFirewall::FindHole(const IpAddress& source,
                                                 const ServicePort& port) {
  for (Hole& hole : holes_) {
    if (hole.source == source && hole.port == port) return &hole;
  }
  return nullptr;
}

bool CommandFirewall::RunFor(const std::vector<std::string>& command,
                             const Hole& hole, const char* what,
                             std::string* err) {
  CommandValues values;
  values.ip = hole.source.ToString();
  values.family = hole.source.is_v4() ? "ipv4" : "ipv6";
  values.proto = TransportName(hole.port.transport);
  values.port = std::to_string(hole.port.port);
  values.timeout = std::to_string(WholeSecondsUp(hole.timeout_ms));
  values.client = hole.client;
  values.service = hole.service;
  const std::vector<std::string> expanded = ExpandCommand(command, values);
  std::string run_err;
  if (CheckNoOptionInjected(command, expanded, &run_err) &&
      RunBoundedCommand(expanded, command_timeout_ms_, &run_err)) {
    return true;
  }
  *err = std::string(what) + " for " + values.ip + " " + values.proto + "/" +
         values.port + " failed: " + run_err;
  return false;
}

bool CommandFirewall::Open(const Grant& grant, std::string* err) {
  const int64_t now_ms = clock_->NowMicros() / 1000;
  bool ok = true;
  for (const ServicePort& port : grant.ports) {
    // Still open (even if overdue and not yet closed by Tick): extend it.
    if (Hole* live = FindHole(grant.source, port)) {
      live->deadline_ms = now_ms + grant.timeout_ms;
      live->timeout_ms = grant.timeout_ms;
      continue;
    }
    Hole hole{grant.source, port,          grant.timeout_ms,
              grant.client, grant.service, now_ms + grant.timeout_ms};
    std::string port_err;
    if (RunFor(open_command_, hole, "open command", &port_err)) {
      holes_.push_back(std::move(hole));
    } else if (ok) {
      *err = port_err;
      ok = false;
    }
  }
  return ok;
}

void CommandFirewall::Tick(int64_t now_ms) {
  for (size_t i = 0; i < holes_.size();) {
    Hole& hole = holes_[i];
    if (hole.deadline_ms > now_ms) {
      ++i;
      continue;
    }
    std::string close_err;
    if (RunFor(close_command_, hole, "close command", &close_err)) {
      holes_.erase(holes_.begin() + static_cast<ptrdiff_t>(i));
      continue;
    }
    errors_.push_back(close_err + "; retrying in " +
                      std::to_string(kCloseRetryMs / 1000) + "s");
    hole.deadline_ms = now_ms + kCloseRetryMs;
    ++i;
  }
}

bool CommandFirewall::Flush(std::string* err) {
  bool ok = true;
  for (const Hole& hole : holes_) {
    std::string close_err;
    if (!RunFor(close_command_, hole, "close command", &close_err) && ok) {
      *err = close_err;
      ok = false;
    }
  }
  // Nothing more can be done for a hole whose close failed at shutdown;
  // the error says which.
  holes_.clear();
  return ok;
}

std::vector<std::string> CommandFirewall::TakeErrors() {
  return std::exchange(errors_, {});
}

}  // namespace knock
