#pragma once
// The state directory holds the used set, the audit sealing state and the
// sniffer's empty root: whoever may replace its entries could undo replay
// protection or swap the sealing key, so it is checked like the key file.

#include <string>

namespace knock {

/// Refuses a `state_dir` that is not a directory, that belongs to anyone but
/// root, this process's user or the account `daemon_user`, or that group or
/// others may write; the error says the fix:
/// `/var/lib/knockd: state directory is writable by others (mode 0777);
/// run: chmod 700 /var/lib/knockd`.
bool CheckStateDirectory(const std::string& path,
                         const std::string& daemon_user, std::string* err);

}  // namespace knock
