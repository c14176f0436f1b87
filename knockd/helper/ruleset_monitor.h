#pragma once
// The nftables change notifications of this network namespace, read from a
// NETLINK_NETFILTER socket subscribed to NFNLGRP_NFTABLES (what `nft
// monitor` reads), behind a seam so that the reaction is tested without
// root.

#include <string>
#include <vector>

#include "knockd/helper/nftables_event.h"

namespace knock {

/// Where ruleset notifications come from: the kernel, or a test's script.
class RulesetEventSource {
 public:
  virtual ~RulesetEventSource() = default;
  /// The descriptor to poll for input; -1 when there is none.
  virtual int fd() const = 0;
  /// Appends every notification waiting now, without blocking. `overran`
  /// says that some were lost (or unreadable) since the last read. False on
  /// a socket error.
  virtual bool Read(std::vector<NftablesEvent>* events, bool* overran,
                    std::string* err) = 0;
};

/// The kernel's notifications, on a non-blocking netlink socket.
class RulesetMonitor : public RulesetEventSource {
 public:
  RulesetMonitor() = default;
  ~RulesetMonitor() override;
  RulesetMonitor(const RulesetMonitor&) = delete;
  RulesetMonitor& operator=(const RulesetMonitor&) = delete;

  /// Opens and subscribes the socket (needs CAP_NET_ADMIN in the
  /// namespace's user namespace on some kernels: open it before dropping).
  bool Open(std::string* err);
  int fd() const override { return fd_; }
  bool Read(std::vector<NftablesEvent>* events, bool* overran,
            std::string* err) override;

 private:
  int fd_ = -1;
};

}  // namespace knock
