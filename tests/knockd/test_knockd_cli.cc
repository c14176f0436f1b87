// The knockd program as administrators meet it: the built binary, its
// command line, and the stanza client-config prints.
#include <fcntl.h>
#include <sys/wait.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/key_file.h"
#include "knockd/shared/daemon_pid_file.h"
#include "program_run.h"
#include "temp_dir.h"

namespace {

using Run = ProgramRun;

/// A scratch directory with a configuration and a server key.
struct Sandbox {
  TempDir dir{"knockd-cli-test"};
  std::string root = dir.path();
  Sandbox() {
    std::string err;
    REQUIRE(knock::WritePrivateKeyFile(root + "/server.key",
                                       knock::PrivateKey::Generate(), &err));
    std::ofstream(root + "/knockd.toml")
        << "private_key_file = \"" << root << "/server.key\"\n"
        << "state_dir = \"" << root << "/state\"\n"
        << "[service.ssh]\nports = [\"tcp/22\"]\n"
        << "[[client]]\nname = \"alice\"\n"
        << "public_key = \"QA0nM65U6E+FyfPH7mZNONzqJuh7KdPbnd8Hl+3sHjM=\"\n"
        << "services = [\"ssh\"]\n";
  }

  Run Knockd(const std::vector<std::string>& args) const {
    return RunProgram(KNOCKD_BINARY, args, root);
  }
  std::string Config() const { return root + "/knockd.toml"; }
};

}  // namespace

TEST_CASE("client-config quotes what it prints, so it parses back") {
  Sandbox box;
  const Run run = box.Knockd({"-c", box.Config(), "client-config", "alice",
                              "--host", "h\"x", "--server-name", "a b]"});
  INFO(run.err);
  REQUIRE(run.status == 0);
  CHECK(run.out.find("[server.\"a b]\"]\n") != std::string::npos);
  CHECK(run.out.find("host = \"h\\\"x\"\n") != std::string::npos);
  const toml::table doc = toml::parse(run.out);
  REQUIRE(doc["server"].as_table() != nullptr);
  CHECK(doc["server"].as_table()->size() == 1);
  CHECK(doc["server"]["a b]"]["host"].value<std::string>() == "h\"x");
  CHECK(doc["server"]["a b]"]["service"].value<std::string>() == "ssh");
  CHECK(doc["server"]["a b]"]["count"].value<int64_t>() == 8);
}

TEST_CASE("client-config takes --opt=value and -- like every command") {
  Sandbox box;
  const Run run = box.Knockd({"-c", box.Config(), "client-config",
                              "--host=bastion.example.org", "--", "alice"});
  INFO(run.err);
  REQUIRE(run.status == 0);
  const toml::table doc = toml::parse(run.out);
  CHECK(doc["server"]["bastion"]["host"].value<std::string>() ==
        "bastion.example.org");
}

TEST_CASE("knockd --version prints the project's version") {
  Sandbox box;
  const Run run = box.Knockd({"--version"});
  CHECK(run.status == 0);
  CHECK(run.out == std::string("knockd ") + KNOCK_VERSION + "\n");
  CHECK(run.err.empty());
}

TEST_CASE("knockd usage errors exit 2 naming the bad argument") {
  Sandbox box;
  /// One bad command line and the exact error it must give.
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  const std::vector<Case> cases = {
      {{"-x"}, "knockd: unknown option \"-x\" (see: knockd --help)\n"},
      {{"-c"}, "knockd: option -c needs a value (see: knockd --help)\n"},
      {{"frob"}, "knockd: unknown subcommand \"frob\" (see: knockd --help)\n"},
      {{"check", "extra"},
       "knockd: check takes no arguments (see: knockd check --help)\n"},
      {{"run", "--frob"},
       "knockd: unknown option \"--frob\" (see: knockd run --help)\n"},
      {{"client-config", "--host"},
       "knockd: option --host needs a value (see: knockd client-config "
       "--help)\n"},
      {{"client-config", "--frob=1", "alice"},
       "knockd: unknown option \"--frob\" (see: knockd client-config "
       "--help)\n"},
      {{"client-config"},
       "knockd: client-config needs a client NAME (see: knockd client-config "
       "--help)\n"},
      {{"client-config", "alice", "bob"},
       "knockd: unexpected argument \"bob\" (see: knockd client-config "
       "--help)\n"},
      {{"replay"},
       "knockd: replay needs --pcap FILE (see: knockd replay --help)\n"},
      {{"replay", "--pcap", "x", "y"},
       "knockd: unexpected argument \"y\" (see: knockd replay --help)\n"},
      {{"audit", "--verify"},
       "knockd: --verify needs --key KEY (see: knockd audit --help)\n"},
      {{"audit", "--json=yes"},
       "knockd: option --json takes no value (see: knockd audit --help)\n"},
      {{"audit", "--event", "frob", "f"},
       "knockd: unknown event kind \"frob\" (one of: file start stop reload "
       "grant refresh replay expired_window expiry flush recovered refusals "
       "restore) (see: "
       "knockd audit --help)\n"},
      {{"audit", "init", "extra"},
       "knockd: audit init takes only --key-file PATH (see: knockd audit "
       "--help)\n"},
      {{"genkey", "x"},
       "knockd: genkey takes no arguments (see: knockd genkey --help)\n"},
      {{"reload", "x"},
       "knockd: reload takes no arguments (see: knockd reload --help)\n"},
      {{"client"},
       "knockd: client needs add, remove or list (see: knockd client "
       "--help)\n"},
      {{"client", "frob"},
       "knockd: unknown client action \"frob\" (see: knockd client "
       "--help)\n"},
      {{"client", "add", "bob"},
       "knockd: client add needs NAME and --key PUBKEY (see: knockd client "
       "--help)\n"},
      {{"client", "add", "bob", "--key"},
       "knockd: option --key needs a value (see: knockd client --help)\n"},
      {{"client", "remove", "bob", "--frob"},
       "knockd: unknown option \"--frob\" (see: knockd client --help)\n"},
      {{"client", "list", "extra"},
       "knockd: client list takes no arguments (see: knockd client "
       "--help)\n"},
      {{"migrate", "a", "b"},
       "knockd: unexpected argument \"b\" (see: knockd migrate --help)\n"},
      {{"migrate", "--frob"},
       "knockd: unknown option \"--frob\" (see: knockd migrate --help)\n"},
      {{"audit", "--verify", "--key", "k1", "--key", "k2", "f"},
       "knockd: with several --key, name each server's files after its --key "
       "(see: knockd audit --help)\n"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.args);
    const Run run = box.Knockd(c.args);
    CHECK(run.err == c.err);
    CHECK(run.status == 2);
    CHECK(run.out.empty());
  }
}

TEST_CASE("every subcommand prints its own usage for --help and -h") {
  Sandbox box;
  for (const char* sub :
       {"run", "check", "reload", "genkey", "pubkey", "client-config", "client",
        "migrate", "replay", "flush", "audit"}) {
    CAPTURE(sub);
    const Run run = box.Knockd({sub, "--help"});
    CHECK(run.status == 0);
    CHECK(run.out.rfind("Usage: knockd", 0) == 0);
    CHECK(run.out.find(std::string(sub) == "run" ? "run" : sub) !=
          std::string::npos);
    CHECK(box.Knockd({sub, "-h"}).out == run.out);
  }
  CHECK(box.Knockd({"audit", "init", "--help"}).out ==
        box.Knockd({"audit", "--help"}).out);
}

TEST_CASE("reload without a running knockd fails, and signals nothing") {
  Sandbox box;
  const Run run = box.Knockd({"-c", box.Config(), "reload"});
  CHECK(run.status == 1);
  CHECK(run.out.empty());
  // Looked for where the daemon of this file would be, then in state_dir.
  CHECK(run.err == "knockd: knockd is not running (no " +
                       knock::RuntimeDaemonFiles(
                           knock::DefaultRuntimeDirectory(), box.Config())
                           .pid +
                       " nor " + box.root + "/state/knockd.pid)\n");
}

TEST_CASE("reload of a broken configuration fails before any signal") {
  Sandbox box;
  std::ofstream(box.Config(), std::ios::app) << "bogus = 1\n";
  // A pid file naming this test: a signal would reach it (and be
  // reported as "not a knockd" rather than the configuration error).
  std::filesystem::create_directories(box.root + "/state");
  std::ofstream(box.root + "/state/knockd.pid") << getpid() << "\n";
  const Run run = box.Knockd({"-c", box.Config(), "reload"});
  CHECK(run.status == 1);
  CHECK(run.out.empty());
  CHECK(run.err.rfind(box.Config() + ":", 0) == 0);
  CHECK(run.err.find("not running") == std::string::npos);
}
