// Key files: private ones refused when others may read them, created 0600,
// never overwritten, and never quoted in an error.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/key_file.h"
#include "temp_dir.h"

namespace {

void WriteFile(const std::string& path, const std::string& contents,
               mode_t mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << contents;
  }
  REQUIRE(chmod(path.c_str(), mode) == 0);
}

mode_t ModeOf(const std::string& path) {
  struct stat info;
  REQUIRE(stat(path.c_str(), &info) == 0);
  return info.st_mode & 07777;
}

std::string ReadError(const std::string& path) {
  knock::PrivateKey key;
  std::string err;
  REQUIRE_FALSE(knock::ReadPrivateKeyFile(path, &key, &err));
  return err;
}

// The error must not carry any recognisable piece of the secret.
void CheckNotLeaked(const std::string& err, const std::string& secret) {
  for (size_t i = 0; i + 8 <= secret.size(); ++i) {
    INFO(err);
    CHECK(err.find(secret.substr(i, 8)) == std::string::npos);
  }
}

}  // namespace

TEST_CASE("WritePrivateKeyFile creates 0600 and ReadPrivateKeyFile reads it") {
  TempDir dir("knock-key-file-test");
  const std::string path = dir.File("server.key");
  knock::PrivateKey written = knock::PrivateKey::Generate();
  std::string err;
  mode_t old_umask = umask(0);
  bool wrote = knock::WritePrivateKeyFile(path, written, &err);
  umask(old_umask);
  REQUIRE(wrote);
  CHECK(ModeOf(path) == 0600);
  knock::PrivateKey read;
  REQUIRE(knock::ReadPrivateKeyFile(path, &read, &err));
  CHECK(read.Public() == written.Public());
  std::ifstream in(path);
  std::string contents((std::istreambuf_iterator<char>(in)),
                       std::istreambuf_iterator<char>());
  CHECK(contents == written.ToTextForKeyFile() + "\n");
}

TEST_CASE("WritePrivateKeyFile makes the mode exactly 0600 under any umask") {
  TempDir dir("knock-key-file-test");
  const std::string path = dir.File("key");
  std::string err;
  mode_t old_umask = umask(0277);
  bool wrote =
      knock::WritePrivateKeyFile(path, knock::PrivateKey::Generate(), &err);
  umask(old_umask);
  REQUIRE(wrote);
  CHECK(ModeOf(path) == 0600);
}

TEST_CASE("WritePrivateKeyFile creates missing parents with mode 0700") {
  TempDir dir("knock-key-file-test");
  const std::string path = dir.File("a/b/private.key");
  std::string err;
  mode_t old_umask = umask(022);
  bool wrote =
      knock::WritePrivateKeyFile(path, knock::PrivateKey::Generate(), &err);
  umask(old_umask);
  INFO(err);
  REQUIRE(wrote);
  CHECK(ModeOf(dir.File("a")) == 0700);
  CHECK(ModeOf(dir.File("a/b")) == 0700);
  CHECK(ModeOf(path) == 0600);
}

TEST_CASE("WritePrivateKeyFile refuses to overwrite a key") {
  TempDir dir("knock-key-file-test");
  const std::string path = dir.File("server.key");
  knock::PrivateKey first = knock::PrivateKey::Generate();
  std::string err;
  REQUIRE(knock::WritePrivateKeyFile(path, first, &err));
  CHECK_FALSE(
      knock::WritePrivateKeyFile(path, knock::PrivateKey::Generate(), &err));
  CHECK(err == path + ": already exists; not overwriting a private key");
  knock::PrivateKey read;
  REQUIRE(knock::ReadPrivateKeyFile(path, &read, &err));
  CHECK(read.Public() == first.Public());
}

TEST_CASE("ReadPrivateKeyFile refuses a key others can read, as ssh does") {
  TempDir dir("knock-key-file-test");
  const std::string path = dir.File("server.key");
  const std::string text = knock::PrivateKey::Generate().ToTextForKeyFile();
  WriteFile(path, text + "\n", 0644);
  CHECK(ReadError(path) == path +
                               ": private key file is readable by others "
                               "(mode 0644); run: chmod 600 " +
                               path);
  WriteFile(path, text + "\n", 0640);
  CHECK(ReadError(path) == path +
                               ": private key file is readable by others "
                               "(mode 0640); run: chmod 600 " +
                               path);
  WriteFile(path, text + "\n", 0604);
  CHECK(ReadError(path) == path +
                               ": private key file is readable by others "
                               "(mode 0604); run: chmod 600 " +
                               path);
  WriteFile(path, text + "\n", 0620);
  CHECK(ReadError(path) == path +
                               ": private key file is accessible by others "
                               "(mode 0620); run: chmod 600 " +
                               path);
}

TEST_CASE("ReadPrivateKeyFile accepts 0600 and 0400, with or without CRLF") {
  TempDir dir("knock-key-file-test");
  const std::string path = dir.File("server.key");
  knock::PrivateKey key = knock::PrivateKey::Generate();
  const std::string text = key.ToTextForKeyFile();
  knock::PrivateKey read;
  std::string err;
  for (const std::string& contents :
       {text, text + "\n", text + "\r\n", text + "  \n\n"}) {
    WriteFile(path, contents, 0600);
    REQUIRE(knock::ReadPrivateKeyFile(path, &read, &err));
    CHECK(read.Public() == key.Public());
  }
  WriteFile(path, text + "\n", 0400);
  REQUIRE(knock::ReadPrivateKeyFile(path, &read, &err));
  CHECK(read.Public() == key.Public());
}

TEST_CASE("ReadPrivateKeyFile never quotes a malformed key") {
  TempDir dir("knock-key-file-test");
  const std::string path = dir.File("server.key");
  std::string text = knock::PrivateKey::Generate().ToTextForKeyFile();
  WriteFile(path, text.substr(0, 43) + "\n", 0600);
  std::string err = ReadError(path);
  CHECK(err == path +
                   ":1:1: bad private key: a key is 44 base64 characters, got "
                   "43 (secret, not shown)");
  CheckNotLeaked(err, text);

  std::string bad = text;
  bad[10] = '!';
  WriteFile(path, bad + "\n", 0600);
  err = ReadError(path);
  CHECK(err == path +
                   ":1:1: bad private key: a key is standard base64 (A-Z a-z "
                   "0-9 + /) (secret, not shown)");
  CheckNotLeaked(err, bad);

  WriteFile(path, " " + text + "\n", 0600);
  err = ReadError(path);
  CHECK(err == path +
                   ":1:1: bad private key: a key is 44 base64 characters, got "
                   "45 (secret, not shown)");
  CheckNotLeaked(err, text);
}

TEST_CASE("ReadPrivateKeyFile refuses empty, multi-line and odd files") {
  TempDir dir("knock-key-file-test");
  const std::string path = dir.File("server.key");
  const std::string text = knock::PrivateKey::Generate().ToTextForKeyFile();
  WriteFile(path, "", 0600);
  CHECK(ReadError(path) ==
        path + ":1:1: empty key file (expected a key, 44 base64 characters)");
  WriteFile(path, text + "\n\n" + text + "\n", 0600);
  std::string err = ReadError(path);
  CHECK(err == path + ":3:1: a key file holds one key on one line");
  CheckNotLeaked(err, text);
  WriteFile(path, std::string(600, 'A'), 0600);
  CHECK(ReadError(path) == path + ": not a key file (larger than 512 bytes)");
  CHECK(ReadError(dir.File("missing")) ==
        dir.File("missing") + ": cannot open (No such file or directory)");
  CHECK(ReadError(dir.File("")) == dir.File("") + ": not a regular file");
}

TEST_CASE("ReadPublicKeyFile reads a public key, quoting a bad one") {
  TempDir dir("knock-key-file-test");
  const std::string path = dir.File("server.pub");
  knock::PublicKey key = knock::PrivateKey::Generate().Public();
  WriteFile(path, key.ToText() + "\n", 0644);
  knock::PublicKey read;
  std::string err;
  REQUIRE(knock::ReadPublicKeyFile(path, &read, &err));
  CHECK(read == key);
  WriteFile(path, "not a key\n", 0644);
  CHECK_FALSE(knock::ReadPublicKeyFile(path, &read, &err));
  CHECK(err == path +
                   ":1:1: bad public key: a key is 44 base64 characters, got "
                   "9 \"not a key\"");
}

TEST_CASE("A private key owned by another account is refused with the fix") {
  if (geteuid() != 0) {
    WARN("needs root to give the key away; skipped");
    return;
  }
  TempDir dir("knock-key-file-test");
  const std::string path = dir.File("server.key");
  std::string err;
  REQUIRE(
      knock::WritePrivateKeyFile(path, knock::PrivateKey::Generate(), &err));
  // Whoever owns the key file can replace the key: only root or the account
  // that uses it may.
  constexpr uid_t kStrangerUid = 54321;
  REQUIRE(chown(path.c_str(), kStrangerUid, 0) == 0);
  CHECK(ReadError(path) == path +
                               ": private key file is owned by uid 54321, not "
                               "by root; run: chown root " +
                               path);
  knock::PrivateKey key;
  // The daemon's account may own it when root reads it (knockd
  // client-config on a server set up for systemd).
  CHECK(knock::ReadPrivateKeyFile(path, kStrangerUid, &key, &err));
  // Control: back with root, the same file reads.
  REQUIRE(chown(path.c_str(), 0, 0) == 0);
  CHECK(knock::ReadPrivateKeyFile(path, &key, &err));
}

TEST_CASE("The owner is checked before the mode") {
  if (geteuid() != 0) {
    WARN("needs root to give the key away; skipped");
    return;
  }
  TempDir dir("knock-key-file-test");
  const std::string path = dir.File("server.key");
  std::string err;
  REQUIRE(
      knock::WritePrivateKeyFile(path, knock::PrivateKey::Generate(), &err));
  REQUIRE(chmod(path.c_str(), 0644) == 0);
  REQUIRE(chown(path.c_str(), 54321, 0) == 0);
  CHECK(ReadError(path) == path +
                               ": private key file is owned by uid 54321, not "
                               "by root; run: chown root " +
                               path);
}
