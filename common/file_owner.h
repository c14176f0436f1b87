#pragma once
// Who may own a file or directory that holds secrets or state: root or the
// account that uses it. Anyone else could replace what is in it.

#include <sys/types.h>

#include <string>

namespace knock {

/// A file owner's account number: uid_t where there is one; Windows (whose
/// owners are SIDs, checked through ACLs) only needs the type to exist.
#ifdef _WIN32
using OwnerId = unsigned int;
#else
using OwnerId = uid_t;
#endif

/// True when `owner` is root, this process's effective user, or `account`
/// (the daemon's account, for files root reads that the daemon owns).
/// Otherwise `err` names the owner and the fix:
/// `PATH: WHAT is owned by uid 1234, not by root or knockd; run: chown
/// knockd PATH` (`sudo chown` when this process is not root).
bool CheckFileOwner(const std::string& path, const std::string& what,
                    OwnerId owner, OwnerId account, std::string* err);

/// The uid of the account `name` (the daemon's `user`), or this process's
/// effective uid when there is no such account.
OwnerId AccountUid(const std::string& name);

/// "knockd (uid 998)" for a known account, else "uid 998".
std::string DescribeUser(OwnerId uid);

}  // namespace knock
