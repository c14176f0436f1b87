#pragma once
// The unprivileged half of `knockd run`: it captures, decodes and matches
// knocks in an empty chroot under its own account and a syscall filter,
// and asks the firewall helper to enforce what it decides.

#include <sys/types.h>

#include <memory>
#include <string>

#include "knockd/shared/sniffer_launcher.h"
#include "knockd/sniffer/packet_source.h"
#include "knockd/sniffer/sniffer_confinement.h"

namespace knockd {

/// The real sniffer: captures as root, then confines itself to the account
/// and empty root it checked in Prepare.
class ConfinedSnifferLauncher : public knock::SnifferLauncher {
 public:
  bool Prepare(const knock::ServerConfig& config, std::string* err) override;
  int Run(knock::SnifferStart start, knock::Logger* logger) override;

 private:
  knock::SnifferAccount account_;
  std::string empty_root_;
};

}  // namespace knockd
