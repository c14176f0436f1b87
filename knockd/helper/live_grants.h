#pragma once
// The holes the firewall helper opened and when each closes. The kernel's
// set elements vanish with the table (`nft flush ruleset`); this book is
// what the helper refills a restored table from.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "knockd/shared/firewall.h"

namespace knock {

/// Live grants per (source, service), each with its wall-clock deadline.
/// Expired ones are swept as grants arrive, so the book holds about as many
/// grants as are live.
class LiveGrants {
 public:
  /// `grant` was opened at `now_ms` for `grant.timeout_ms`; a later grant
  /// of the same source and service replaces it (a refresh).
  void Add(const Grant& grant, int64_t now_ms);
  /// The live grants, each with `timeout_ms` set to what remains after
  /// `now_ms`, shortest first; expired ones are dropped from the book.
  std::vector<Grant> Remaining(int64_t now_ms);
  /// Forgets every grant (their holes were flushed).
  void Clear();
  size_t size() const { return grants_.size(); }

 private:
  /// One open hole and its deadline.
  struct Entry {
    Grant grant;
    int64_t deadline_ms = 0;
  };
  void SweepExpired(int64_t now_ms);

  std::map<std::pair<std::string, std::string>, Entry> grants_;
  size_t size_after_sweep_ = 0;
};

}  // namespace knock
