#pragma once
// Who may own a file or directory that holds secrets or state: root or the
// account that uses it. Anyone else could replace what is in it.

#include <sys/types.h>

#include <string>

namespace knock {

/// True when `owner` is root, this process's effective user, or `account`
/// (the daemon's account, for files root reads that the daemon owns).
/// Otherwise `err` names the owner and the fix:
/// `PATH: WHAT is owned by uid 1234, not by root or knockd; run: chown
/// knockd PATH` (`sudo chown` when this process is not root).
bool CheckFileOwner(const std::string& path, const std::string& what,
                    uid_t owner, uid_t account, std::string* err);

/// The uid of the account `name` (the daemon's `user`), or this process's
/// effective uid when there is no such account.
uid_t AccountUid(const std::string& name);

/// "knockd (uid 998)" for a known account, else "uid 998".
std::string DescribeUser(uid_t uid);

}  // namespace knock
