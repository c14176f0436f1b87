#include "common/file_owner.h"

#include <pwd.h>
#include <unistd.h>

namespace knock {

namespace {

// The account's name for a chown command line, or its number.
std::string UserName(uid_t uid) {
  if (uid == 0) return "root";
  const passwd* entry = getpwuid(uid);
  if (entry != nullptr && entry->pw_name != nullptr) return entry->pw_name;
  return std::to_string(uid);
}

}  // namespace

uid_t AccountUid(const std::string& name) {
  const passwd* entry = getpwnam(name.c_str());
  return entry != nullptr ? entry->pw_uid : geteuid();
}

std::string DescribeUser(uid_t uid) {
  const passwd* entry = uid == 0 ? nullptr : getpwuid(uid);
  const std::string number = "uid " + std::to_string(uid);
  if (uid == 0) return "root";
  if (entry == nullptr || entry->pw_name == nullptr) return number;
  return std::string(entry->pw_name) + " (" + number + ")";
}

bool CheckFileOwner(const std::string& path, const std::string& what,
                    uid_t owner, uid_t account, std::string* err) {
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
