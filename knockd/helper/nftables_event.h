#pragma once
// nftables' change notifications (the multicast group NFNLGRP_NFTABLES of
// NETLINK_NETFILTER, what `nft monitor` shows), decoded just far enough to
// say which table a change touched and which process committed it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace knock {

/// One notification: an object of `table` (family `family`) was added or
/// deleted, or (`is_generation`) a transaction was committed by `pid`.
struct NftablesEvent {
  /// NFT_MSG_NEWTABLE, NFT_MSG_DELRULE, ..., NFT_MSG_NEWGEN.
  uint8_t message = 0;
  /// NFPROTO_INET, NFPROTO_IPV4, ...
  uint8_t family = 0;
  /// The table the object belongs to; empty for a generation.
  std::string table;
  /// A NEWGEN closes every transaction: its committer, when the kernel
  /// names it.
  bool is_generation = false;
  bool has_pid = false;
  uint32_t pid = 0;
  std::string process;
};

/// Appends the nftables notifications in one datagram of `size` bytes to
/// `events`. Messages of other subsystems are skipped; a truncated or
/// malformed message ends the datagram (the rest cannot be framed) and
/// makes it return false, so that the caller checks the ruleset rather than
/// trust what it could not read.
bool ParseNftablesEvents(const uint8_t* data, size_t size,
                         std::vector<NftablesEvent>* events);

}  // namespace knock
