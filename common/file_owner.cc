#include "common/file_owner.h"

#include <unistd.h>

#ifdef _WIN32

namespace knock {

// Windows files have an owner SID and an ACL, not a uid: the key file's
// ACL check is what says who may replace it there.
bool CheckFileOwner(const std::string&, const std::string&, OwnerId, OwnerId,
                    std::string*) {
  return true;
}

OwnerId AccountUid(const std::string&) { return 0; }

std::string DescribeUser(OwnerId uid) { return "uid " + std::to_string(uid); }

}  // namespace knock

#else

#include <pwd.h>

namespace knock {

namespace {

// The account's name for a chown command line, or its number.
std::string UserName(OwnerId uid) {
  if (uid == 0) return "root";
  const passwd* entry = getpwuid(uid);
  if (entry != nullptr && entry->pw_name != nullptr) return entry->pw_name;
  return std::to_string(uid);
}

}  // namespace

OwnerId AccountUid(const std::string& name) {
  const passwd* entry = getpwnam(name.c_str());
  return entry != nullptr ? entry->pw_uid : geteuid();
}

std::string DescribeUser(OwnerId uid) {
  const passwd* entry = uid == 0 ? nullptr : getpwuid(uid);
  const std::string number = "uid " + std::to_string(uid);
  if (uid == 0) return "root";
  if (entry == nullptr || entry->pw_name == nullptr) return number;
  return std::string(entry->pw_name) + " (" + number + ")";
}

bool CheckFileOwner(const std::string& path, const std::string& what,
                    OwnerId owner, OwnerId account, std::string* err) {
  const uid_t reader = geteuid();
  if (owner == 0 || owner == reader || owner == account) return true;
  // The account the file should go to: the daemon's if one was named (the
  // file is meant for it), else whoever is reading it.
  const uid_t rightful = account != reader && account != 0 ? account : reader;
  std::string allowed = "root";
  if (rightful != 0) allowed += " or " + UserName(rightful);
  *err = path + ": " + what + " is owned by " + DescribeUser(owner) +
         ", not by " + allowed + "; run: " + (reader == 0 ? "" : "sudo ") +
         "chown " + UserName(rightful) + " " + path;
  return false;
}

}  // namespace knock

#endif  // _WIN32
