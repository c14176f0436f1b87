#pragma once
// What `knock SERVER` and `knock proxy` share: their options, turning them
// and the configuration into one knock job, and knocking (then waiting).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/command_line.h"
#include "common/ip_address.h"
#include "common/pair_key.h"
#include "common/transport.h"
#include "knock/lib/client_config.h"
#include "knock/lib/knock_sender.h"

namespace knock {

/// Between knocks: none, the sequence leaves as one burst. Order does not
/// matter to the server (any order within n + slack knocks completes), and
/// eight SYNs are about 500 bytes, less than one full-size packet; a network
/// whose queue or new-connection limiter drops such a burst is paced with
/// --gap.
inline constexpr int64_t kDefaultGapMs = 0;
inline constexpr int64_t kDefaultWaitTimeoutMs = 10000;
inline constexpr int64_t kWaitAttemptMs = 250;

/// The options of `knock SERVER` and `knock proxy`, as typed.
struct KnockOptions {
  std::optional<std::string> config, wait, timeout, at, slot, server_key, ports,
      count, step, slots, gap, bind;
  bool udp = false, v4 = false, v6 = false, verbose = false, dry_run = false,
       help = false;
};

/// The option table for `options`.
std::vector<CommandLineOption> KnockOptionSpecs(KnockOptions* options);

/// One knock, fully decided: where, which sequence shape, how to send.
struct KnockJob {
  ServerEntry server;  // the config entry, or --server-key's, overridden
  std::string service;
  PairKey pair_key;
  std::optional<int64_t> at_unix;  // --at
  std::optional<int> slot;         // --slot
  Transport transport = Transport::kTcp;
  AddressFamily family = AddressFamily::kAny;
  int64_t gap_ms = kDefaultGapMs;
  std::optional<uint16_t> wait_port;
  int64_t timeout_ms = kDefaultWaitTimeoutMs;
  bool verbose = false;
  bool dry_run = false;
  std::string state_path;
  /// --bind or bind_address: "" (unbound), "auto" or an address.
  std::string bind;
  /// `bind` settled to an address (RunKnockJob does it).
  std::optional<IpAddress> bound_to;
};

/// Builds the job for SERVER [SERVICE]; returns kExitOk, or kExitUsage or
/// kExitError after printing the one-line error.
int BuildKnockJob(const KnockOptions& options, const std::string& server_name,
                  const std::optional<std::string>& service, KnockJob* job);

/// The outcome of knocking: an exit status and, for proxy, the connected
/// socket (-1 unless the job waited and the port opened).
struct KnockOutcome {
  int exit_status = 0;
  SocketHandle fd = kNoSocket;
};

/// Knocks (or prints the ports for --dry-run) and, if `job.wait_port` is
/// set, waits for it to open. Errors are printed here.
KnockOutcome RunKnockJob(const KnockJob& job);

/// The configuration file: -c, or $XDG_CONFIG_HOME/knock/knock.toml.
std::string ConfigPath(const std::optional<std::string>& option);

/// Loads `path`. A missing default file is an empty configuration; a
/// missing file named with -c is an error.
bool LoadConfigIfAny(const std::string& path, bool named, ClientConfig* out,
                     std::string* err);

/// The private key file: the configuration's private_key_file with ~
/// expanded, defaulting to $XDG_CONFIG_HOME/knock/private.key.
std::string PrivateKeyPath(const ClientConfig& config);

}  // namespace knock
