#include "knock/lib/knock_flow.h"

#include <errno.h>
#include <time.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "common/clock.h"
#include "common/duration.h"
#include "common/key_file.h"
#include "common/knock_sequence.h"
#include "common/port_range.h"
#include "common/portable_file.h"
#include "common/sequence_shape.h"
#include "knock/lib/bind_address.h"
#include "knock/lib/client_state.h"
#include "knock/lib/knock_plan.h"
#include "knock/lib/port_probe.h"
#include "knock/lib/user_dirs.h"
#include "knock/subcommands.h"

namespace knock {

namespace {

constexpr int64_t kEarliestSaneUnixSeconds =
    1577836800;  // 2020-01-01 00:00:00 UTC
constexpr size_t kMaxServiceBytes = 64;

int Usage(const std::string& message) {
  PrintError(message + " (see: knock --help)");
  return kExitUsage;
}

int Failure(const std::string& message) {
  PrintError(message);
  return kExitError;
}

bool ParseWhole(const std::optional<std::string>& text, const char* option,
                int64_t min, int64_t max, int64_t* out, std::string* err) {
  if (!text) return true;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, *out);
  if (ec == std::errc() && ptr == end && *out >= min && *out <= max)
    return true;
  *err = std::string(option) + ": not a whole number from " +
         std::to_string(min) + " to " + std::to_string(max) + " \"" + *text +
         "\"";
  return false;
}

bool ParseDuration(const std::optional<std::string>& text, const char* option,
                   int64_t* out_ms, std::string* err) {
  if (!text || ParseDurationMs(*text, out_ms, err)) return true;
  *err = std::string(option) + ": " + *err;
  return false;
}

bool IsServiceName(const std::string& name) {
  if (name.empty() || name.size() > kMaxServiceBytes) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return false;
  return true;
}

std::string KnownServers(const ClientConfig& config) {
  std::string names;
  for (const ServerEntry& entry : config.servers)
    names += (names.empty() ? "" : ", ") + entry.name;
  return names;
}

std::string UnknownServer(const std::string& name, const ClientConfig& config,
                          bool file_exists) {
  const std::string head = "unknown server \"" + name + "\"";
  const std::string tail =
      "; or give --server-key KEY to knock a host directly";
  if (!file_exists)
    return head + ": there is no configuration file \"" + config.path + "\"" +
           tail;
  if (config.servers.empty())
    return head + ": \"" + config.path + "\" has no [server.NAME] table" + tail;
  return head + " in \"" + config.path + "\" (known: " + KnownServers(config) +
         ")" + tail;
}

/// The option values after parsing, before they meet the configuration.
struct OptionValues {
  int64_t count = 0, slots = 0, slot = -1, at = -1, wait = 0, timeout_ms = 0,
          gap_ms = 0, step_ms = 0;
  PortRange ports;
  PublicKey server_key;
};

bool ParseValues(const KnockOptions& o, OptionValues* v, std::string* err) {
  if (o.v4 && o.v6) {
    *err = "-4 and -6 exclude each other";
    return false;
  }
  if (o.ports && !ParsePortRange(*o.ports, &v->ports, err)) {
    *err = "--ports: " + *err;
    return false;
  }
  if (o.bind && !CheckBindAddress(*o.bind, err)) {
    *err = "--bind " + *err;
    return false;
  }
  if (o.server_key && !ParsePublicKey(*o.server_key, &v->server_key, err)) {
    *err = "--server-key: " + *err;
    return false;
  }
  return ParseWhole(o.count, "--count", 1, 65535, &v->count, err) &&
         ParseWhole(o.slots, "--slots", 1, kMaxSlots, &v->slots, err) &&
         ParseWhole(o.slot, "--slot", 0, kMaxSlots - 1, &v->slot, err) &&
         ParseWhole(o.at, "--at", 0, INT64_MAX / 2, &v->at, err) &&
         ParseWhole(o.wait, "--wait", 1, 65535, &v->wait, err) &&
         ParseDuration(o.timeout, "--timeout", &v->timeout_ms, err) &&
         ParseDuration(o.gap, "--gap", &v->gap_ms, err) &&
         ParseDuration(o.step, "--step", &v->step_ms, err);
}

void ApplyOverrides(const KnockOptions& o, const OptionValues& v,
                    ServerEntry* server) {
  if (o.ports) server->ports = v.ports;
  if (o.count) server->count = static_cast<int>(v.count);
  if (o.step) server->step_seconds = v.step_ms / 1000;
  if (o.slots) server->slots = static_cast<int>(v.slots);
}

std::string FormatUtc(int64_t unix_seconds) {
  time_t seconds = static_cast<time_t>(unix_seconds);
  tm parts{};
#ifdef _WIN32
  gmtime_s(&parts, &seconds);
#else
  gmtime_r(&seconds, &parts);
#endif
  char text[64];
  strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &parts);
  return text;
}

int64_t NowUnix() { return SystemClock().NowMicros() / 1000000; }

bool LoadPairKey(const ClientConfig& config, const PublicKey& server_key,
                 PairKey* out, std::string* err) {
  const std::string path = PrivateKeyPath(config);
  struct stat info {};
  if (stat(path.c_str(), &info) != 0 && errno == ENOENT) {
    *err = "no private key \"" + path + "\"; run: knock init";
    return false;
  }
  PrivateKey key;
  return ReadPrivateKeyFile(path, &key, err) &&
         DerivePairKey(key, server_key, PairRole::kClient, out, err);
}

// Finds SERVER in the configuration, or makes an entry for a host given
// with --server-key; then applies the overrides.
int ChooseServer(const KnockOptions& o, const OptionValues& v,
                 const std::string& name, ClientConfig* config,
                 ServerEntry* server) {
  std::string err;
  const std::string path = ConfigPath(o.config);
  if (!LoadConfigIfAny(path, o.config.has_value(), config, &err))
    return Failure(err);
  const ServerEntry* found = config->FindServer(name);
  if (o.server_key) {
    *server = ServerEntry{};
    server->name = name;
    server->host = name;
    server->public_key = v.server_key;
  } else if (found != nullptr) {
    *server = *found;
  } else {
    return Failure(
        UnknownServer(name, *config, access(path.c_str(), F_OK) == 0));
  }
  ApplyOverrides(o, v, server);
  // Bits and distinct ports here, before the key is read; the count and
  // slot bounds are checked by the subcommand, which names its own help.
  if (!CheckSequenceStrength(server->ports, server->count, &err))
    return Usage(err);
  return kExitOk;
}

// Settles time, slot and sending details.
int FinishJob(const KnockOptions& o, const OptionValues& v, KnockJob* job) {
  if (o.slot && v.slot >= job->server.slots)
    return Usage("--slot " + *o.slot + " is not below the " +
                 std::to_string(job->server.slots) + " slots of " +
                 job->server.name);
  if (o.step && v.step_ms % 1000 != 0)
    return Usage("--step: a window is whole seconds, not \"" + *o.step + "\"");
  if (o.slot) job->slot = static_cast<int>(v.slot);
  if (o.at) job->at_unix = v.at;
  if (!o.at && NowUnix() < kEarliestSaneUnixSeconds)
    return Failure("the clock says " + FormatUtc(NowUnix()) +
                   "; knock/v1 needs the real time (set the clock, e.g. with "
                   "NTP)");
  job->transport = o.udp || job->server.protocol == KnockProtocol::kUdp
                       ? Transport::kUdp
                       : Transport::kTcp;
  job->family = o.v4   ? AddressFamily::kV4
                : o.v6 ? AddressFamily::kV6
                       : AddressFamily::kAny;
  if (o.gap) job->gap_ms = v.gap_ms;
  if (o.wait) job->wait_port = static_cast<uint16_t>(v.wait);
  if (o.timeout) job->timeout_ms = v.timeout_ms;
  job->verbose = o.verbose;
  job->dry_run = o.dry_run;
  job->state_path = DefaultClientStatePath();
  job->bind = o.bind.value_or(job->server.bind_address);
  return kExitOk;
}

void Verbose(const KnockJob& job, const std::string& line) {
  if (job.verbose) fprintf(stderr, "knock: %s\n", line.c_str());
}

int64_t MonotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool Plan(const KnockJob& job, bool record, PendingRecord* pending,
          KnockPlan* plan, std::string* err) {
  const int64_t now = NowUnix();
  PlanRequest request{
      &job.server,  job.service, job.pair_key, job.at_unix.value_or(now),
      now,          job.slot,    record,       job.state_path,
      job.bound_to, pending};
  return MakeKnockPlan(request, plan, err);
}

// Plans one sequence (recording its slot) and sends it. The slot's record
// is in the state file before the first knock leaves, so every other knock
// process already sees it; its disk flush (a few ms) runs on a thread while
// the knocks travel, the server opens and the port is probed, and
// `pending` holds the state lock until the caller settles it, so no other
// knock process can take the slot before its record is durable. Only a
// machine crash within those milliseconds can lose the record, and then
// the sequence was on the wire at most: the server's own used set refuses
// it if it is ever sent again, so it opens nothing twice.
bool KnockOnce(const KnockJob& job, const ResolvedAddress& address,
               std::optional<int> slot, PendingRecord* pending,
               std::string* err) {
  KnockJob this_time = job;
  this_time.slot = slot;
  KnockPlan plan;
  if (!Plan(this_time, /*record=*/true, pending, &plan, err)) return false;
  pending->StartSettling();
  Verbose(job,
          job.server.name + "/" + job.service + " -> " + address.ToString() +
              ": window " + std::to_string(plan.window) + " slot " +
              std::to_string(plan.slot) + ", " +
              std::to_string(plan.ports.size()) + " " +
              TransportName(job.transport) + " knocks" +
              (plan.bound_to ? ", bound to " + plan.bound_to->ToString() : ""));
  std::vector<int64_t> offsets_us;
  if (!SendKnocks(address, plan.ports, job.transport, job.gap_ms, &offsets_us,
                  err))
    return false;
  for (size_t i = 0; i < offsets_us.size(); ++i)
    Verbose(job, "knock " + std::to_string(i + 1) + "/" +
                     std::to_string(plan.ports.size()) + " " +
                     TransportName(job.transport) + " port " +
                     std::to_string(plan.ports[i]) + " at +" +
                     std::to_string(offsets_us[i] / 1000) + " ms");
  return true;
}

KnockOutcome Wait(const KnockJob& job, const ResolvedAddress& address,
                  int64_t first_knock_ms, PendingRecord* pending) {
  WaitPlan plan;
  plan.timeout_ms = job.timeout_ms;
  plan.attempt_ms = kWaitAttemptMs;
  // Halfway, a lost knock is the likely reason: knock again with a fresh
  // slot (a sequence is never sent twice). The first record is settled
  // first: its lock would block the second reservation.
  plan.at_halfway = [&job, &address, pending] {
    Verbose(job, "port " + std::to_string(*job.wait_port) +
                     " still closed; knocking again");
    std::string err;
    PendingRecord again;
    if (!pending->Settle(&err) ||
        !KnockOnce(job, address, std::nullopt, &again, &err) ||
        !again.Settle(&err))
      Verbose(job, "no second knock: " + err);
  };
  WaitResult result = WaitForPort(WithPort(address, *job.wait_port), plan);
  if (result.open) {
    Verbose(job, "port " + std::to_string(*job.wait_port) + " open after " +
                     std::to_string(MonotonicMs() - first_knock_ms) +
                     " ms (since the first knock)");
    return {kExitOk, result.fd};
  }
  PrintError("port " + std::to_string(*job.wait_port) + " of " +
             job.server.name + " (" + address.ToString() +
             ") did not open within " + FormatDurationMs(job.timeout_ms));
  return {kExitNeverOpened, kNoSocket};
}

std::string PortLine(const std::vector<uint16_t>& ports) {
  std::string line;
  for (uint16_t port : ports)
    line += (line.empty() ? "" : " ") + std::to_string(port);
  return line;
}

// Prints the ports in sending order on stdout (alone, for scripts); a bound
// sequence says on stderr what it is bound to.
KnockOutcome DryRun(const KnockJob& job) {
  std::string err;
  KnockPlan plan;
  if (!Plan(job, /*record=*/false, nullptr, &plan, &err))
    return {Failure(err), kNoSocket};
  printf("%s\n", PortLine(plan.ports).c_str());
  if (plan.bound_to)
    fprintf(stderr, "knock: bound to %s: head %s, tail %s\n",
            plan.bound_to->ToString().c_str(), PortLine(plan.head).c_str(),
            PortLine(plan.tail).c_str());
  return {kExitOk, kNoSocket};
}

}  // namespace

std::vector<CommandLineOption> KnockOptionSpecs(KnockOptions* o) {
  return {
      {"-c", "--config", nullptr, &o->config},
      {nullptr, "--wait", nullptr, &o->wait},
      {nullptr, "--timeout", nullptr, &o->timeout},
      {nullptr, "--udp", &o->udp, nullptr},
      {"-4", nullptr, &o->v4, nullptr},
      {"-6", nullptr, &o->v6, nullptr},
      {"-v", "--verbose", &o->verbose, nullptr},
      {nullptr, "--dry-run", &o->dry_run, nullptr},
      {nullptr, "--at", nullptr, &o->at},
      {nullptr, "--slot", nullptr, &o->slot},
      {nullptr, "--server-key", nullptr, &o->server_key},
      {nullptr, "--ports", nullptr, &o->ports},
      {nullptr, "--count", nullptr, &o->count},
      {nullptr, "--step", nullptr, &o->step},
      {nullptr, "--slots", nullptr, &o->slots},
      {nullptr, "--gap", nullptr, &o->gap},
      {nullptr, "--bind", nullptr, &o->bind},
      {"-h", "--help", &o->help, nullptr},
  };
}

int BuildKnockJob(const KnockOptions& options, const std::string& server_name,
                  const std::optional<std::string>& service, KnockJob* job) {
  OptionValues values;
  std::string err;
  if (!ParseValues(options, &values, &err)) return Usage(err);
  if (service && !IsServiceName(*service))
    return Usage("not a service name \"" + *service +
                 "\" (1 to 64 of a-z 0-9 _ -)");
  ClientConfig config;
  int status =
      ChooseServer(options, values, server_name, &config, &job->server);
  if (status != kExitOk) return status;
  job->service = service.value_or(job->server.service);
  status = FinishJob(options, values, job);
  if (status != kExitOk) return status;
  if (!LoadPairKey(config, job->server.public_key, &job->pair_key, &err))
    return Failure(err);
  return kExitOk;
}

KnockOutcome RunKnockJob(const KnockJob& unbound_job) {
  std::string err;
  KnockJob job = unbound_job;
  // Resolve first: a name that does not resolve must not use up a slot. A
  // dry run resolves only when "auto" needs the route.
  ResolvedAddress address;
  const bool needs_address = !job.dry_run || job.bind == kBindAuto;
  if (needs_address &&
      !ResolveHost(job.server.host, job.family, &address, &err))
    return {Failure(err), kNoSocket};
  if (!job.bind.empty()) {
    IpAddress bound_to;
    if (!ResolveBindAddress(job.bind, address, &bound_to, &err))
      return {Failure(err), kNoSocket};
    job.bound_to = bound_to;
  }
  if (job.dry_run) return DryRun(job);
  const int64_t first_knock_ms = MonotonicMs();
  PendingRecord pending;
  if (!KnockOnce(job, address, job.slot, &pending, &err)) {
    std::string ignored;
    pending.Settle(&ignored);
    return {Failure(err), kNoSocket};
  }
  KnockOutcome outcome{kExitOk, kNoSocket};
  if (job.wait_port) outcome = Wait(job, address, first_knock_ms, &pending);
  // Whatever the port did, the record must be on disk before we go on.
  if (!pending.Settle(&err)) {
    if (outcome.fd != kNoSocket) CloseSocket(outcome.fd);
    return {Failure(err), kNoSocket};
  }
  return outcome;
}

std::string ConfigPath(const std::optional<std::string>& option) {
  return option.value_or(ClientFilePath(ClientConfigDirectory(), "knock.toml"));
}

bool LoadConfigIfAny(const std::string& path, bool named, ClientConfig* out,
                     std::string* err) {
  if (!named && access(path.c_str(), F_OK) != 0 && errno == ENOENT) {
    *out = ClientConfig{};
    out->path = path;
    return true;
  }
  return LoadClientConfig(path, out, err);
}

std::string PrivateKeyPath(const ClientConfig& config) {
  // The built-in default follows $XDG_CONFIG_HOME like the file itself.
  if (config.private_key_file == ClientConfig{}.private_key_file)
    return ClientFilePath(ClientConfigDirectory(), "private.key");
  return ExpandHome(config.private_key_file);
}

}  // namespace knock
