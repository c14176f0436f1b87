#pragma once
// The nftables backend: one `table inet <table>` that the daemon owns,
// driven through libnftables (no nft process is ever started).
//
// Layout of the table (see NftablesSetupBatch for the exact text):
//   set allowed4  ipv4_addr . inet_proto . inet_service, flags timeout
//   set allowed6  ipv6_addr . inet_proto . inet_service, flags timeout
//   set protected inet_proto . inet_service
//   chain prerouting  hook prerouting, priority dstnat - 10, policy accept
//                     (before DNAT, so forwarded services are hidden too):
//     iif lo accept
//     ct state established,related accept
//     not addressed to this host (routed through it)         accept
//     protected port from an allowed (source, proto, port)   accept
//     protected port                                         drop
//     knock range (tcp and/or udp)                           drop
// Grants are set elements with a kernel timeout, so holes close even when
// the daemon is dead.

#include <string>

#include "knockd/shared/firewall.h"

struct nft_ctx;

namespace knock {

/// The batch that installs or re-installs the fail-closed rules for
/// `layout` in `table`, keeping live grants: it never deletes the allowed
/// sets, and it flushes and refills the chain and the protected set in the
/// same transaction, so applying it twice leaves one copy of each rule.
std::string NftablesSetupBatch(const std::string& table,
                               const FirewallLayout& layout);

/// The batch that adds `grant`'s elements, or resets the timeout of live
/// ones, in one transaction: add (no-op if present), delete, add with the
/// timeout. Empty when the grant has no ports.
std::string NftablesGrantBatch(const std::string& table, const Grant& grant);

/// The batch that removes `table` whether or not it exists.
std::string NftablesFlushBatch(const std::string& table);

/// Accepts a table name nft can parse as a bare identifier (letters, digits,
/// '_', starting with a letter; at most 64 bytes): the name is pasted into
/// batch text, so anything else could change the batch's meaning.
bool CheckNftablesTableName(const std::string& table, std::string* err);

/// Enforces grants with nftables set elements that carry a timeout.
class NftablesFirewall : public Firewall {
 public:
  explicit NftablesFirewall(std::string table);
  ~NftablesFirewall() override;
  NftablesFirewall(const NftablesFirewall&) = delete;
  NftablesFirewall& operator=(const NftablesFirewall&) = delete;

  bool Setup(const FirewallLayout& layout, std::string* err) override;
  bool Open(const Grant& grant, std::string* err) override;
  bool Flush(std::string* err) override;
  const char* Name() const override { return "nftables"; }

 private:
  bool Run(const std::string& batch, std::string* err);

  std::string table_;
  nft_ctx* ctx_ = nullptr;
};

}  // namespace knock
