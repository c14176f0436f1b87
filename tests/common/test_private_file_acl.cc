// The Windows private-key check on constructed access lists: the owner,
// SYSTEM and Administrators may read; anyone else, or no list at all, is
// refused with the fix. (The real DACL is read under wine by the Windows
// e2e test.)
#include <catch2/catch.hpp>
#include <string>

#include "common/private_file_acl.h"

namespace {

constexpr char kPath[] =
    "C:\\Users\\alice\\AppData\\Roaming\\knock\\private.key";
constexpr char kAlice[] = "S-1-5-21-1-2-3-1001";
constexpr char kFix[] =
    "run: icacls \"C:\\Users\\alice\\AppData\\Roaming\\knock\\private.key\" "
    "/inheritance:r /grant:r \"%USERNAME%:F\"";

knock::FileAcl PrivateAcl() {
  knock::FileAcl acl;
  acl.owner_sid = kAlice;
  acl.grants = {{kAlice, "PC\\alice", true},
                {knock::kSystemSid, "NT AUTHORITY\\SYSTEM", true},
                {knock::kAdministratorsSid, "BUILTIN\\Administrators", true},
                {knock::kOwnerRightsSid, "OWNER RIGHTS", true}};
  return acl;
}

}  // namespace

TEST_CASE("the owner, SYSTEM and Administrators may read a private key",
          "[private_file_acl]") {
  std::string err;
  CHECK(knock::CheckPrivateAcl(kPath, PrivateAcl(), &err));
  CHECK(err.empty());
}

TEST_CASE("a key others may read is refused, naming them and the fix",
          "[private_file_acl]") {
  knock::FileAcl acl = PrivateAcl();
  acl.grants.push_back({"S-1-5-32-545", "BUILTIN\\Users", true});
  acl.grants.push_back({"S-1-1-0", "", true});  // a SID without a name
  std::string err;
  CHECK_FALSE(knock::CheckPrivateAcl(kPath, acl, &err));
  CHECK(err == std::string(kPath) +
                   ": private key file is readable by others (BUILTIN\\Users, "
                   "S-1-1-0); " +
                   kFix);
}

TEST_CASE("others' rights without reading, and no list at all",
          "[private_file_acl]") {
  knock::FileAcl acl = PrivateAcl();
  // Control: the same entry with reading is refused (above); without
  // reading (e.g. only "read attributes") it is harmless.
  acl.grants.push_back({"S-1-5-32-545", "BUILTIN\\Users", false});
  std::string err;
  CHECK(knock::CheckPrivateAcl(kPath, acl, &err));

  acl.null_dacl = true;
  CHECK_FALSE(knock::CheckPrivateAcl(kPath, acl, &err));
  CHECK(err == std::string(kPath) +
                   ": private key file has no access list, so everyone may "
                   "read it; " +
                   kFix);
}

TEST_CASE("on a file owned by someone else, this user counts as others",
          "[private_file_acl]") {
  knock::FileAcl acl = PrivateAcl();
  acl.owner_sid = "S-1-5-21-1-2-3-1002";  // bob owns it; alice may read
  std::string err;
  CHECK_FALSE(knock::CheckPrivateAcl(kPath, acl, &err));
  CHECK(err == std::string(kPath) +
                   ": private key file is readable by others (PC\\alice); " +
                   kFix);
}
