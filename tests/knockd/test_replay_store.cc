// The used set: decisions, pruning, and surviving a restart through its file.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "knockd/shared/replay_store.h"

namespace {

knock::IpAddress Addr(const char* text) {
  knock::IpAddress address;
  std::string err;
  REQUIRE(knock::IpAddress::Parse(text, &address, &err));
  return address;
}

std::string TempDir() {
  char pattern[] = "/tmp/knock-replay-store.XXXXXX";
  REQUIRE(mkdtemp(pattern) != nullptr);
  return pattern;
}

const knock::PublicKey kAlice = knock::PrivateKey::Generate().Public();
constexpr int64_t kStep = 30;

}  // namespace

TEST_CASE("first use, refresh while live, replay otherwise", "[replay_store]") {
  knock::ReplayStore store;
  const knock::UsedKey key{kAlice, "ssh", 100, 2};
  const knock::UsedEntry* entry = nullptr;
  CHECK(store.Use(key, kStep, Addr("198.18.0.2"), 1000, 500, &entry) ==
        knock::UseDecision::kFirstUse);
  CHECK(entry->grant_expires_us == 1500);
  CHECK(store.Use(key, kStep, Addr("198.18.0.2"), 1400, 500, &entry) ==
        knock::UseDecision::kRefresh);
  CHECK(entry->grant_expires_us == 1900);
  CHECK(store.Use(key, kStep, Addr("198.18.0.3"), 1500, 500, &entry) ==
        knock::UseDecision::kReplay);
  CHECK(entry->first_source == Addr("198.18.0.2"));
  CHECK(store.Use(key, kStep, Addr("198.18.0.2"), 1900, 500, &entry) ==
        knock::UseDecision::kReplay);
  // Another slot, service or client is another sequence.
  CHECK(store.Use({kAlice, "ssh", 100, 3}, kStep, Addr("198.18.0.3"), 0, 1,
                  &entry) == knock::UseDecision::kFirstUse);
  CHECK(store.Use({kAlice, "web", 100, 2}, kStep, Addr("198.18.0.3"), 0, 1,
                  &entry) == knock::UseDecision::kFirstUse);
}

TEST_CASE("pruning drops only windows before the oldest accepted",
          "[replay_store]") {
  knock::ReplayStore store;
  const knock::UsedEntry* entry = nullptr;
  for (uint64_t window = 10; window < 15; ++window)
    store.Use({kAlice, "ssh", window, 0}, kStep, Addr("198.18.0.2"), 0, 1,
              &entry);
  store.PruneBefore(13, kStep);
  CHECK(store.size() == 2);
  CHECK(store.Use({kAlice, "ssh", 13, 0}, kStep, Addr("198.18.0.9"), 0, 1,
                  &entry) == knock::UseDecision::kReplay);
  CHECK(store.Use({kAlice, "ssh", 15, 0}, kStep, Addr("198.18.0.9"), 0, 1,
                  &entry) == knock::UseDecision::kFirstUse);
  // What was pruned, and every window before it, stays refused.
  CHECK(store.pruned_until_unix() == 13 * kStep);
  CHECK(store.Use({kAlice, "ssh", 12, 0}, kStep, Addr("198.18.0.9"), 0, 1,
                  &entry) == knock::UseDecision::kForgotten);
  CHECK(store.Use({kAlice, "ssh", 12, 3}, kStep, Addr("198.18.0.9"), 0, 1,
                  &entry) == knock::UseDecision::kForgotten);
  CHECK(store.size() == 3);
}

TEST_CASE("a set pruned by a clock stepped ahead still refuses what it pruned",
          "[replay_store]") {
  // The wall clock steps ten windows ahead (NTP, or whoever answers for
  // it), the set is pruned by it, then the clock comes back: window 100 is
  // acceptable again, and an attacker replays what it sniffed there.
  knock::ReplayStore store;
  const knock::UsedKey key{kAlice, "ssh", 100, 1};
  const knock::UsedEntry* entry = nullptr;
  REQUIRE(store.Use(key, kStep, Addr("198.18.0.2"), 0, 1, &entry) ==
          knock::UseDecision::kFirstUse);
  store.PruneBefore(110 - 3, kStep);
  // The entry is really gone (without the floor the replay would be a first
  // use, as it was before the floor existed) ...
  CHECK_FALSE(store.Find(key).has_value());
  // ... and the replay is still refused.
  CHECK(store.Use(key, kStep, Addr("198.18.0.66"), 0, 1, &entry) ==
        knock::UseDecision::kForgotten);
  CHECK(entry == nullptr);
  CHECK_FALSE(store.Find(key).has_value());
  // Windows after the newest one used stay open to their clients.
  CHECK(store.Use({kAlice, "ssh", 101, 0}, kStep, Addr("198.18.0.2"), 0, 1,
                  &entry) == knock::UseDecision::kFirstUse);
}

TEST_CASE("the floor follows the windows used, not the clock",
          "[replay_store]") {
  knock::ReplayStore store;
  const knock::UsedEntry* entry = nullptr;
  // A clock a year ahead with nothing used prunes nothing and raises no
  // floor: when it comes back, every window opens as before.
  store.PruneBefore(1000000, kStep);
  CHECK_FALSE(store.pruned_until_unix().has_value());
  CHECK(store.Use({kAlice, "ssh", 5, 0}, kStep, Addr("198.18.0.2"), 0, 1,
                  &entry) == knock::UseDecision::kFirstUse);
  store.PruneBefore(1000000, kStep);
  CHECK(store.pruned_until_unix() == 6 * kStep);
  CHECK(store.Use({kAlice, "ssh", 6, 0}, kStep, Addr("198.18.0.2"), 0, 1,
                  &entry) == knock::UseDecision::kFirstUse);
}

TEST_CASE("a longer step after pruning leaves the current windows open",
          "[replay_store]") {
  // Pruned at a 30 s step, then reloaded with 60 s: window numbers halve.
  // A floor kept as a window number would refuse every window until it
  // caught up (decades); kept as a time it refuses only what began before
  // the forgotten end.
  knock::ReplayStore store;
  const knock::UsedEntry* entry = nullptr;
  const int64_t now = 1800000000;
  const uint64_t window30 = now / 30;
  store.Use({kAlice, "ssh", window30 - 1, 0}, 30, Addr("198.18.0.2"), 0, 1,
            &entry);
  store.PruneBefore(window30, 30);
  REQUIRE(store.pruned_until_unix() == static_cast<int64_t>(window30) * 30);
  const uint64_t window60 = now / 60;
  CHECK(store.Use({kAlice, "ssh", window60, 0}, 60, Addr("198.18.0.2"), 0, 1,
                  &entry) == knock::UseDecision::kFirstUse);
  CHECK(store.Use({kAlice, "ssh", window60 + 1, 0}, 60, Addr("198.18.0.2"), 0,
                  1, &entry) == knock::UseDecision::kFirstUse);
  // Control: counted in 30 s windows, the same floor refuses them.
  CHECK(store.Use({kAlice, "ssh", window60, 1}, 30, Addr("198.18.0.2"), 0, 1,
                  &entry) == knock::UseDecision::kForgotten);
}

TEST_CASE("the floor survives a restart, and a v1 file loads without one",
          "[replay_store]") {
  const std::string path = TempDir() + "/used-sequences";
  std::string err;
  {
    knock::ReplayStore store(path);
    const knock::UsedEntry* entry = nullptr;
    store.Use({kAlice, "ssh", 100, 0}, kStep, Addr("198.18.0.2"), 0, 1, &entry);
    store.Use({kAlice, "ssh", 120, 0}, kStep, Addr("198.18.0.2"), 0, 1, &entry);
    store.PruneBefore(110, kStep);
    REQUIRE(store.Save(&err));
  }
  knock::ReplayStore restarted(path);
  REQUIRE(restarted.Load(&err));
  CHECK(restarted.pruned_until_unix() == 101 * kStep);
  CHECK(restarted.size() == 1);
  const knock::UsedEntry* entry = nullptr;
  CHECK(restarted.Use({kAlice, "ssh", 100, 0}, kStep, Addr("198.18.0.66"), 0, 1,
                      &entry) == knock::UseDecision::kForgotten);

  std::ofstream(path) << "# knockd used sequences v1\n100 0 ssh "
                      << kAlice.ToText() << " 198.18.0.2 5\n";
  knock::ReplayStore old(path);
  REQUIRE(old.Load(&err));
  CHECK_FALSE(old.pruned_until_unix().has_value());
  CHECK(old.size() == 1);
  // The floor is a comment to older readers: a downgrade still starts.
  const std::string text = [&] {
    knock::ReplayStore saved(path);
    REQUIRE(saved.Load(&err));
    saved.PruneBefore(1000, kStep);
    REQUIRE(saved.Save(&err));
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  CHECK(text.find("\n# pruned_until_unix 3030\n") != std::string::npos);

  std::ofstream(path) << "# knockd used sequences v2\n# pruned_until_unix x\n";
  knock::ReplayStore corrupt(path);
  CHECK_FALSE(corrupt.Load(&err));
  CHECK(err ==
        path + ":2: corrupt used-sequence line \"# pruned_until_unix x\"");
}

TEST_CASE("the used set survives a restart through its file",
          "[replay_store]") {
  const std::string path = TempDir() + "/used-sequences";
  std::string err;
  {
    knock::ReplayStore store(path);
    REQUIRE(store.Load(&err));  // no file yet: an empty store
    const knock::UsedEntry* entry = nullptr;
    store.Use({kAlice, "ssh", 58000000, 3}, kStep, Addr("2001:db8::2"), 10, 20,
              &entry);
    REQUIRE(store.Save(&err));
  }
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(access((path + ".tmp").c_str(), F_OK) != 0);

  knock::ReplayStore restarted(path);
  REQUIRE(restarted.Load(&err));
  REQUIRE(restarted.size() == 1);
  const knock::UsedEntry* entry = nullptr;
  CHECK(restarted.Use({kAlice, "ssh", 58000000, 3}, kStep, Addr("198.18.0.3"),
                      15, 20, &entry) == knock::UseDecision::kReplay);
  CHECK(entry->first_source == Addr("2001:db8::2"));
  CHECK(entry->grant_expires_us == 30);
}

TEST_CASE("a corrupt store file is refused with its line", "[replay_store]") {
  const std::string path = TempDir() + "/used-sequences";
  std::ofstream(path)
      << "# knockd used sequences v1\n1 2 ssh notakey 198.18.0.2 5\n";
  knock::ReplayStore store(path);
  std::string err;
  CHECK_FALSE(store.Load(&err));
  CHECK(err == path +
                   ":2: corrupt used-sequence line \"1 2 ssh notakey "
                   "198.18.0.2 5\"");
}

TEST_CASE("an unwritable store reports the path", "[replay_store]") {
  knock::ReplayStore store("/nonexistent-dir-for-knock/used-sequences");
  std::string err;
  CHECK_FALSE(store.Save(&err));
  CHECK(err ==
        "/nonexistent-dir-for-knock/used-sequences.tmp: cannot write the "
        "used-sequence store: No such file or directory");
}

TEST_CASE("a use is undone by restoring what Find returned before it",
          "[replay_store]") {
  knock::ReplayStore store;
  const knock::UsedKey key{kAlice, "ssh", 100, 2};
  const knock::UsedEntry* entry = nullptr;
  SECTION("a first use is forgotten") {
    const std::optional<knock::UsedEntry> before = store.Find(key);
    CHECK_FALSE(before.has_value());
    store.Use(key, kStep, Addr("198.18.0.2"), 1000, 500, &entry);
    store.Restore(key, before);
    CHECK(store.size() == 0);
    CHECK(store.Use(key, kStep, Addr("198.18.0.3"), 1100, 500, &entry) ==
          knock::UseDecision::kFirstUse);
  }
  SECTION("a refresh goes back to the old expiry") {
    store.Use(key, kStep, Addr("198.18.0.2"), 1000, 500, &entry);
    const std::optional<knock::UsedEntry> before = store.Find(key);
    REQUIRE(before.has_value());
    CHECK(before->grant_expires_us == 1500);
    store.Use(key, kStep, Addr("198.18.0.2"), 1400, 500, &entry);
    store.Restore(key, before);
    CHECK(store.Find(key)->grant_expires_us == 1500);
    CHECK(store.Find(key)->first_source == Addr("198.18.0.2"));
  }
}

TEST_CASE("the temporary file is never one planted at its name",
          "[replay_store]") {
  const std::string dir = TempDir();
  const std::string path = dir + "/used-sequences";
  const std::string target = dir + "/target";
  std::ofstream(target) << "precious\n";
  // A symlink where the temporary file goes: written through, it would
  // overwrite the target and rename would leave the link as the store.
  REQUIRE(symlink(target.c_str(), (path + ".tmp").c_str()) == 0);
  knock::ReplayStore store(path);
  const knock::UsedEntry* entry = nullptr;
  store.Use({kAlice, "ssh", 7, 1}, kStep, Addr("198.18.0.2"), 0, 1, &entry);
  std::string err;
  REQUIRE(store.Save(&err));
  std::ifstream in(target);
  std::string line;
  std::getline(in, line);
  CHECK(line == "precious");
  struct stat st {};
  REQUIRE(lstat(path.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  knock::ReplayStore reloaded(path);
  REQUIRE(reloaded.Load(&err));
  CHECK(reloaded.size() == 1);

  // A stale temporary file of a crash does not block saving either.
  std::ofstream(path + ".tmp") << "half a line";
  REQUIRE(store.Save(&err));
  CHECK(access((path + ".tmp").c_str(), F_OK) != 0);
}
