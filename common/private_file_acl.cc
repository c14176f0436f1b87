#include "common/private_file_acl.h"

#ifdef _WIN32
// clang-format off
#include <windows.h>
#include <aclapi.h>
#include <io.h>
#include <sddl.h>
// clang-format on
#include <fcntl.h>

#include <cerrno>
#endif

namespace knock {

namespace {

bool MayAlwaysRead(const std::string& sid, const std::string& owner_sid) {
  return sid == owner_sid || sid == kOwnerRightsSid || sid == kSystemSid ||
         sid == kAdministratorsSid;
}

std::string Fix(const std::string& path) {
  return "run: icacls \"" + path +
         "\" /inheritance:r /grant:r \"%USERNAME%:F\"";
}

}  // namespace

bool CheckPrivateAcl(const std::string& path, const FileAcl& acl,
                     std::string* err) {
  if (acl.null_dacl) {
    *err = path +
           ": private key file has no access list, so everyone may read it; " +
           Fix(path);
    return false;
  }
  std::string others;
  for (const AclGrant& grant : acl.grants) {
    if (!grant.can_read || MayAlwaysRead(grant.sid, acl.owner_sid)) continue;
    others += (others.empty() ? "" : ", ") +
              (grant.name.empty() ? grant.sid : grant.name);
  }
  if (others.empty()) return true;
  *err = path + ": private key file is readable by others (" + others + "); " +
         Fix(path);
  return false;
}

#ifdef _WIN32

namespace {

std::string SidText(PSID sid) {
  LPSTR text = nullptr;
  if (!ConvertSidToStringSidA(sid, &text)) return "?";
  std::string result = text;
  LocalFree(text);
  return result;
}

std::string SidName(PSID sid) {
  char name[256], domain[256];
  DWORD name_size = sizeof name, domain_size = sizeof domain;
  SID_NAME_USE use;
  if (!LookupAccountSidA(nullptr, sid, name, &name_size, domain, &domain_size,
                         &use))
    return "";
  return domain_size > 0 && domain[0] != '\0'
             ? std::string(domain) + "\\" + name
             : std::string(name);
}

// Reading the data: FILE_READ_DATA, or a generic right that includes it.
bool AllowsReading(ACCESS_MASK mask) {
  return (mask & (FILE_READ_DATA | GENERIC_READ | GENERIC_ALL)) != 0;
}

bool ReadFileAcl(HANDLE file, FileAcl* acl, std::string* why) {
  PSID owner = nullptr;
  PACL dacl = nullptr;
  PSECURITY_DESCRIPTOR descriptor = nullptr;
  const DWORD rc =
      GetSecurityInfo(file, SE_FILE_OBJECT,
                      OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                      &owner, nullptr, &dacl, nullptr, &descriptor);
  if (rc != ERROR_SUCCESS) {
    *why = "cannot read its access list (error " + std::to_string(rc) + ")";
    return false;
  }
  acl->owner_sid = owner != nullptr ? SidText(owner) : "";
  acl->null_dacl = dacl == nullptr;
  for (DWORD i = 0; dacl != nullptr && i < dacl->AceCount; ++i) {
    void* entry = nullptr;
    if (!GetAce(dacl, i, &entry)) continue;
    const auto* header = static_cast<ACE_HEADER*>(entry);
    // Deny entries and inherit-only entries grant nothing on this file.
    if (header->AceType != ACCESS_ALLOWED_ACE_TYPE ||
        (header->AceFlags & INHERIT_ONLY_ACE) != 0)
      continue;
    auto* allowed = static_cast<ACCESS_ALLOWED_ACE*>(entry);
    PSID sid = &allowed->SidStart;
    acl->grants.push_back(
        {SidText(sid), SidName(sid), AllowsReading(allowed->Mask)});
  }
  LocalFree(descriptor);
  return true;
}

// The SID of the user this process runs as, in text form.
bool CurrentUserSid(std::string* sid) {
  HANDLE token = nullptr;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return false;
  char buffer[256];
  DWORD size = 0;
  const bool ok =
      GetTokenInformation(token, TokenUser, buffer, sizeof buffer, &size);
  CloseHandle(token);
  if (!ok) return false;
  *sid = SidText(reinterpret_cast<TOKEN_USER*>(buffer)->User.Sid);
  return true;
}

}  // namespace

bool CheckPrivateFileAcl(int fd, const std::string& path, std::string* err) {
  HANDLE file = reinterpret_cast<HANDLE>(_get_osfhandle(fd));
  FileAcl acl;
  std::string why;
  if (!ReadFileAcl(file, &acl, &why)) {
    *err = path + ": " + why;
    return false;
  }
  return CheckPrivateAcl(path, acl, err);
}

int CreatePrivateFile(const std::string& path) {
  std::string user;
  PSECURITY_DESCRIPTOR descriptor = nullptr;
  // P: protected (nothing inherited); full access (FA) for this user,
  // SYSTEM (SY) and Administrators (BA).
  if (!CurrentUserSid(&user) ||
      !ConvertStringSecurityDescriptorToSecurityDescriptorA(
          ("D:P(A;;FA;;;" + user + ")(A;;FA;;;SY)(A;;FA;;;BA)").c_str(),
          SDDL_REVISION_1, &descriptor, nullptr)) {
    errno = EACCES;
    return -1;
  }
  SECURITY_ATTRIBUTES attributes{sizeof attributes, descriptor, FALSE};
  HANDLE file = CreateFileA(path.c_str(), GENERIC_WRITE, 0, &attributes,
                            CREATE_NEW, FILE_ATTRIBUTE_NORMAL, nullptr);
  const DWORD error = GetLastError();
  LocalFree(descriptor);
  if (file == INVALID_HANDLE_VALUE) {
    errno = error == ERROR_FILE_EXISTS      ? EEXIST
            : error == ERROR_PATH_NOT_FOUND ? ENOENT
                                            : EACCES;
    return -1;
  }
  const int fd =
      _open_osfhandle(reinterpret_cast<intptr_t>(file), _O_WRONLY | _O_BINARY);
  if (fd < 0) CloseHandle(file);
  return fd;
}

#endif

}  // namespace knock
