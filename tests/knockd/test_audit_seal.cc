// The audit key chain: evolving is BLAKE2b-256 keyed with the old key, one
// way and deterministic; the state file round-trips and init never
// overwrites it.
#include <sodium.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "knockd/audit/audit_seal.h"
#include "knockd/audit_fixture.h"

using audit_test::FixedKey;

TEST_CASE("k_{i+1} is BLAKE2b-256 keyed with k_i over the evolve label") {
  const knock::AuditKey k0 = FixedKey(1);
  knock::AuditKey expected;
  const char label[] = "knock/v1 audit evolve";
  crypto_generichash(expected.data(), expected.size(),
                     reinterpret_cast<const unsigned char*>(label),
                     strlen(label), k0.data(), k0.size());
  knock::AuditKey key = k0;
  knock::EvolveAuditKey(&key);
  CHECK(key == expected);
  CHECK(knock::AuditKeyAt(k0, 1) == expected);
  knock::EvolveAuditKey(&key);
  CHECK(knock::AuditKeyAt(k0, 2) == key);
  CHECK(knock::AuditKeyAt(k0, 0) == k0);
}

TEST_CASE("A seal depends on every byte and on the key") {
  const knock::AuditKey key = FixedKey(1);
  const knock::AuditMac mac = knock::SealAuditBody(key, "{\"seq\":0");
  CHECK(knock::SameAuditMac(mac, knock::SealAuditBody(key, "{\"seq\":0")));
  CHECK_FALSE(
      knock::SameAuditMac(mac, knock::SealAuditBody(key, "{\"seq\":1")));
  CHECK_FALSE(knock::SameAuditMac(
      mac, knock::SealAuditBody(FixedKey(2), "{\"seq\":0")));
}

TEST_CASE("The key id is 16 hex digits and differs between keys") {
  const std::string id = knock::AuditKeyId(FixedKey(1));
  CHECK(id.size() == 16);
  CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(id != knock::AuditKeyId(FixedKey(2)));
}

TEST_CASE("The sealing state round-trips and is private") {
  const std::string dir = audit_test::TempDir();
  knock::AuditSealState state;
  state.seq = 42;
  state.key = FixedKey(7);
  state.prev = FixedKey(9);
  state.key_id = "0123456789abcdef";
  std::string err;
  REQUIRE(knock::WriteAuditSealState(dir + "/s", state, &err));
  knock::AuditSealState read;
  REQUIRE(knock::ReadAuditSealState(dir + "/s", &read, &err));
  CHECK(read.seq == 42);
  CHECK(read.key == state.key);
  CHECK(read.prev == state.prev);
  CHECK(read.key_id == state.key_id);
  struct stat info;
  REQUIRE(stat((dir + "/s").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);

  read.Advance(FixedKey(3));
  CHECK(read.seq == 43);
  CHECK(read.key == knock::AuditKeyAt(FixedKey(7), 1));
  CHECK(read.prev == FixedKey(3));
}

TEST_CASE("A damaged sealing state is refused with the line at fault") {
  const std::string dir = audit_test::TempDir();
  audit_test::WriteFile(dir + "/s", "knock/v1 audit seal\nseq x\n");
  knock::AuditSealState state;
  std::string err;
  CHECK_FALSE(knock::ReadAuditSealState(dir + "/s", &state, &err));
  CHECK(err == dir + "/s: bad \"seq\" line");
  audit_test::WriteFile(dir + "/s", "something else\n");
  CHECK_FALSE(knock::ReadAuditSealState(dir + "/s", &state, &err));
  CHECK(err == dir + "/s: not an audit sealing state (first line)");
}

TEST_CASE("init makes a random k_0 once and refuses to fork the chain") {
  const std::string dir = audit_test::TempDir();
  knock::AuditKey k0;
  std::string err;
  REQUIRE(knock::CreateAuditSealState(dir + "/audit.key", &k0, &err));
  knock::AuditSealState state;
  REQUIRE(knock::ReadAuditSealState(dir + "/audit.key", &state, &err));
  CHECK(state.seq == 0);
  CHECK(state.key == k0);
  CHECK(state.key_id == knock::AuditKeyId(k0));
  knock::AuditKey again;
  CHECK_FALSE(knock::CreateAuditSealState(dir + "/audit.key", &again, &err));
  CHECK(err == dir +
                   "/audit.key: exists: the audit log is already sealed under "
                   "a key (remove it and the log to start a new chain)");
}

TEST_CASE(
    "The sealing state's temporary file is never written through a "
    "link") {
  const std::string dir = audit_test::TempDir();
  const std::string target = dir + "/target";
  audit_test::WriteFile(target, "precious\n");
  // Followed, the link would put the evolving key into the target, with
  // the target's owner and mode.
  REQUIRE(symlink(target.c_str(), (dir + "/s.tmp").c_str()) == 0);
  knock::AuditSealState state;
  state.key = FixedKey(7);
  state.key_id = "0123456789abcdef";
  std::string err;
  REQUIRE(knock::WriteAuditSealState(dir + "/s", state, &err));
  CHECK(audit_test::ReadFile(target) == "precious\n");
  knock::AuditSealState read;
  REQUIRE(knock::ReadAuditSealState(dir + "/s", &read, &err));
  CHECK(read.key == state.key);
}
