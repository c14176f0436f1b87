// `knockd client add` and `remove` as files: what is written, with which
// mode, and every refusal word for word.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "knockd/shared/client_drop_in.h"
#include "knockd/shared/daemon_pid_file.h"
#include "knockd/shared/server_config.h"

namespace {

const char kAliceKey[] = "QA0nM65U6E+FyfPH7mZNONzqJuh7KdPbnd8Hl+3sHjM=";
const char kBobKey[] = "3+U7bQ+t0ECCR1dDYTZ50fOxZbPIHra1oIMjslv1Hh4=";

/// A configuration directory of its own, removed at the end.
class ConfigDir {
 public:
  ConfigDir() {
    dir_ = std::filesystem::temp_directory_path().string() + "/knockd-client-" +
           std::to_string(getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::ofstream(config()) << "private_key_file = \"/k\"\n"
                               "state_dir = \""
                            << dir_
                            << "/state\"\n"
                               "[service.ssh]\nports = [\"tcp/22\"]\n"
                               "[service.web]\nports = [\"tcp/443\"]\n"
                               "[[client]]\nname = \"alice\"\n"
                               "public_key = \""
                            << kAliceKey << "\"\nservices = [\"ssh\"]\n";
  }
  ~ConfigDir() { std::filesystem::remove_all(dir_); }
  std::string config() const { return dir_ + "/knockd.toml"; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

std::string AddError(const ConfigDir& dir, const knock::NewClient& client) {
  std::string path, state_dir, err;
  REQUIRE_FALSE(
      knock::AddClientDropIn(dir.config(), client, &path, &state_dir, &err));
  return err;
}

}  // namespace

TEST_CASE("client add writes a 0640 drop-in the configuration then loads") {
  ConfigDir dir;
  std::string path, state_dir, err;
  REQUIRE(knock::AddClientDropIn(dir.config(), {"bob", kBobKey, {}}, &path,
                                 &state_dir, &err));
  CHECK(path == dir.dir() + "/clients.d/bob.toml");
  CHECK(state_dir == dir.dir() + "/state");
  struct stat info;
  REQUIRE(stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 07777) == 0640);
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  CHECK(text == std::string("# Written by knockd client add; removed by "
                            "knockd client remove.\n[[client]]\nname = "
                            "\"bob\"\npublic_key = \"") +
                    kBobKey + "\"\nservices = [\"ssh\", \"web\"]\n");
  // No temporary file is left beside it.
  CHECK(std::distance(
            std::filesystem::directory_iterator(dir.dir() + "/clients.d"),
            std::filesystem::directory_iterator()) == 1);
  knock::ServerConfig config;
  REQUIRE(knock::LoadServerConfig(dir.config(), &config, &err));
  REQUIRE(config.FindClient("bob") != nullptr);
  CHECK(config.SourceOf(*config.FindClient("bob")) == path);
}

TEST_CASE("client add gives the drop-in the configuration directory's group") {
  // As the package and the README leave them: /etc/knockd root:knockd 0750,
  // knockd.toml copied in by root (root:root). The daemon, as knockd, must
  // read the drop-in and its directory.
  if (geteuid() != 0) {
    WARN("not root: cannot give the directory another group");
    return;
  }
  ConfigDir dir;
  constexpr gid_t kDaemonGroup = 4242;
  REQUIRE(chown(dir.dir().c_str(), 0, kDaemonGroup) == 0);
  REQUIRE(chown(dir.config().c_str(), 0, 0) == 0);
  std::string path, state_dir, err;
  REQUIRE(knock::AddClientDropIn(dir.config(), {"bob", kBobKey, {}}, &path,
                                 &state_dir, &err));
  struct stat info;
  REQUIRE(stat(path.c_str(), &info) == 0);
  CHECK(info.st_gid == kDaemonGroup);
  CHECK((info.st_mode & 0777) == 0640);
  REQUIRE(stat((dir.dir() + "/clients.d").c_str(), &info) == 0);
  CHECK(info.st_gid == kDaemonGroup);
  CHECK((info.st_mode & 0777) == 0750);
}

TEST_CASE("client add refuses bad names, keys, taken names and services") {
  ConfigDir dir;
  CHECK(AddError(dir, {"bad name", kBobKey, {}}) ==
        "a client name is 1-64 characters of A-Z a-z 0-9 _ . - (\"bad "
        "name\")");
  CHECK(AddError(dir, {"bob", "not-a-key", {}}).rfind("--key: ", 0) == 0);
  CHECK(AddError(dir, {"alice", kBobKey, {}}) ==
        "client \"alice\" exists already, in " + dir.config());
  CHECK(AddError(dir, {"bob", kAliceKey, {}}) ==
        "that key is client \"alice\"'s already, in " + dir.config() + " (\"" +
            kAliceKey + "\")");
  CHECK(AddError(dir, {"bob", kBobKey, {"ssh", "wbe"}}) ==
        "no service \"wbe\" (known: ssh, web)");
  CHECK_FALSE(std::filesystem::exists(dir.dir() + "/clients.d/bob.toml"));
  // A second add of the same client finds it taken, in its drop-in.
  std::string path, state_dir, err;
  REQUIRE(knock::AddClientDropIn(dir.config(), {"bob", kBobKey, {"ssh"}}, &path,
                                 &state_dir, &err));
  CHECK(AddError(dir, {"bob", kBobKey, {}}) ==
        "client \"bob\" exists already, in " + path);
}

TEST_CASE("client remove takes out its drop-in and nothing else") {
  ConfigDir dir;
  std::string path, state_dir, err;
  REQUIRE(knock::AddClientDropIn(dir.config(), {"bob", kBobKey, {}}, &path,
                                 &state_dir, &err));
  CHECK_FALSE(knock::RemoveClientDropIn(dir.config(), "alice", &path,
                                        &state_dir, &err));
  CHECK(err == "client \"alice\" is defined in " + dir.config() +
                   ", not in a clients.d drop-in: remove it there");
  CHECK_FALSE(knock::RemoveClientDropIn(dir.config(), "carol", &path,
                                        &state_dir, &err));
  CHECK(err == "no client \"carol\" (known: alice, bob)");
  REQUIRE(
      knock::RemoveClientDropIn(dir.config(), "bob", &path, &state_dir, &err));
  CHECK(path == dir.dir() + "/clients.d/bob.toml");
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("client remove refuses a drop-in that defines others too") {
  ConfigDir dir;
  std::filesystem::create_directories(dir.dir() + "/clients.d");
  std::ofstream(dir.dir() + "/clients.d/team.toml")
      << knock::ClientDropInText("bob", kBobKey, {"ssh"})
      << knock::ClientDropInText(
             "carol", "NziYKTm8Smn/ZmJaDa0OyGoZsubGkKM3a0i7O7pzlVk=", {"ssh"});
  std::string path, state_dir, err;
  CHECK_FALSE(
      knock::RemoveClientDropIn(dir.config(), "bob", &path, &state_dir, &err));
  CHECK(err == dir.dir() +
                   "/clients.d/team.toml defines other clients too "
                   "(carol): edit it");
}

TEST_CASE("The reload names the pid file, or says knockd is not running") {
  ConfigDir dir;
  std::filesystem::create_directories(dir.dir() + "/state");
  const std::string state = dir.dir() + "/state";
  std::string message, err;
  REQUIRE(knock::ReloadRunningDaemon(state, 1000, &message) ==
          knock::ReloadOutcome::kNotRunning);
  CHECK(message == "knockd is not running (no " + state + "/knockd.pid)");
  // This test's own pid is not a knockd: no signal goes to it.
  REQUIRE(knock::WriteDaemonPidFile(state, &err));
  REQUIRE(knock::ReloadRunningDaemon(state, 1000, &message) ==
          knock::ReloadOutcome::kNotRunning);
  CHECK(message == "knockd is not running (" + state +
                       "/knockd.pid names pid " + std::to_string(getpid()) +
                       ", not a knockd)");
  knock::RemoveDaemonPidFile(state);
  CHECK_FALSE(std::filesystem::exists(state + "/knockd.pid"));
  // A pid file that cannot be looked at is no proof that knockd is not
  // running (here the state "directory" is a file: ENOTDIR; for another
  // account, EACCES).
  const std::string not_dir = dir.dir() + "/not-a-dir";
  std::ofstream(not_dir) << "x";
  CHECK(knock::ReloadRunningDaemon(not_dir, 1000, &message) ==
        knock::ReloadOutcome::kFailed);
  CHECK(message == "cannot read " + not_dir +
                       "/knockd.pid (Not a directory): is this knockd's "
                       "account or root?");
}
