#pragma once
// Whether a private key file is private on Windows, where mode bits mean
// nothing and the file's access list (DACL) decides who may read it. The
// decision is plain data so that it is tested on every system; reading and
// setting a real DACL exists only in the Windows build.

#include <string>
#include <vector>

namespace knock {

/// One allowing entry of a file's access list: whom it names (a SID in text
/// form, "S-1-5-32-545"), that principal's name where known ("BUILTIN\\Users")
/// and whether the rights it allows include reading the file's data.
struct AclGrant {
  std::string sid;
  std::string name;
  bool can_read = false;
};

/// Well-known SIDs that may always read a user's files on Windows.
inline constexpr char kSystemSid[] = "S-1-5-18";
inline constexpr char kAdministratorsSid[] = "S-1-5-32-544";
/// "OWNER RIGHTS": whoever owns the file, named without naming them.
inline constexpr char kOwnerRightsSid[] = "S-1-3-4";

/// A file's access list as the check sees it. `null_dacl` is Windows' "no
/// access list at all", which lets everyone do everything.
struct FileAcl {
  std::string owner_sid;
  bool null_dacl = false;
  std::vector<AclGrant> grants;
};

/// Refuses `acl` when anyone but its owner, SYSTEM and Administrators may
/// read the file, naming who and the fix: `C:\k\private.key: private key
/// file is readable by others (BUILTIN\Users); run: icacls "C:\k\private.key"
/// /inheritance:r /grant:r "%USERNAME%:F"`.
bool CheckPrivateAcl(const std::string& path, const FileAcl& acl,
                     std::string* err);

#ifdef _WIN32
/// Reads the owner and DACL of the open file `fd` and applies
/// CheckPrivateAcl.
bool CheckPrivateFileAcl(int fd, const std::string& path, std::string* err);

/// Creates the file `path` for writing, never replacing one, with a
/// protected DACL (no inherited entries) that lets only this user, SYSTEM
/// and Administrators in, so that it is never readable by others, not even
/// for a moment. A descriptor as open() returns it, or -1 with errno set
/// (EEXIST when the file exists).
int CreatePrivateFile(const std::string& path);
#endif

}  // namespace knock
