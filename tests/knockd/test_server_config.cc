// knockd's configuration: defaults, every key read, warnings, the example
// file, and a corpus of broken files with their exact one-line errors.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "knockd/shared/server_config.h"

namespace {

const char kAliceKey[] = "QA0nM65U6E+FyfPH7mZNONzqJuh7KdPbnd8Hl+3sHjM=";
const char kBobKey[] = "3+U7bQ+t0ECCR1dDYTZ50fOxZbPIHra1oIMjslv1Hh4=";

const std::string kMinimal = std::string(R"(
private_key_file = "/etc/knockd/server.key"

[service.ssh]
ports = ["tcp/22"]

[[client]]
name = "alice"
public_key = ")") + kAliceKey +
                             R"("
services = ["ssh"]
)";

knock::ServerConfig Parse(const std::string& text) {
  knock::ServerConfig config;
  std::string err;
  bool ok = knock::ParseServerConfig(text, "knockd.toml", &config, &err);
  INFO(err);
  REQUIRE(ok);
  return config;
}

std::string ParseError(const std::string& text) {
  knock::ServerConfig config;
  std::string err;
  REQUIRE_FALSE(knock::ParseServerConfig(text, "knockd.toml", &config, &err));
  return err;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

/// Runs the test from another directory, so that relative paths in messages
/// stay the same wherever the build is; the old one comes back at the end.
class ChangeDirectory {
 public:
  explicit ChangeDirectory(const std::string& dir) {
    char* old = getcwd(nullptr, 0);
    REQUIRE(old != nullptr);
    old_ = old;
    free(old);
    REQUIRE(chdir(dir.c_str()) == 0);
  }
  ~ChangeDirectory() { (void)!chdir(old_.c_str()); }

 private:
  std::string old_;
};

}  // namespace

TEST_CASE("A minimal server configuration takes every default") {
  knock::ServerConfig config = Parse(kMinimal);
  CHECK(config.path == "knockd.toml");
  CHECK(config.private_key_file == "/etc/knockd/server.key");
  CHECK(config.state_dir == "/var/lib/knockd");
  CHECK(config.audit_log == "/var/log/knockd/audit.jsonl");
  CHECK(config.audit_key_file == "/var/lib/knockd/audit.key");
  CHECK(config.audit_max_bytes == 0);
  CHECK(config.interfaces == std::vector<std::string>{"any"});
  CHECK(config.log_level == "info");
  CHECK_FALSE(config.syslog);
  CHECK(config.knock.ports == knock::PortRange{16384, 32767});
  CHECK(config.knock.count == 8);
  CHECK(config.knock.protocol == knock::KnockProtocol::kTcp);
  CHECK(config.knock.step_seconds == 30);
  CHECK(config.knock.skew == 1);
  CHECK(config.knock.slots == 4);
  CHECK(config.knock.slack == 8);
  CHECK(config.knock.seq_timeout_ms == 10000);
  CHECK(config.knock.max_sources == 65536);
  CHECK(config.firewall.backend == knock::FirewallBackend::kNftables);
  CHECK(config.firewall.table == "knockd");
  REQUIRE(config.services.size() == 1);
  CHECK(config.services[0].name == "ssh");
  CHECK(config.services[0].ports ==
        std::vector<knock::ServicePort>{{knock::Transport::kTcp, 22}});
  CHECK(config.services[0].open_for_ms == 30000);
  REQUIRE(config.clients.size() == 1);
  CHECK(config.clients[0].name == "alice");
  CHECK(config.clients[0].public_key.ToText() == kAliceKey);
  CHECK(config.clients[0].services == std::vector<std::string>{"ssh"});
  CHECK(config.warnings.empty());
}

TEST_CASE("Every server key is read") {
  knock::ServerConfig config = Parse(std::string(R"(
private_key_file = "/k/server.key"
state_dir = "/s"
audit_log = "/a/audit.jsonl"
interfaces = ["eth0", "wg0"]
log_level = "debug"
syslog = true

[knock]
ports = "20000-29999"
count = 9
protocol = "both"
step = "1m"
skew = 2
slots = 8
slack = 0
seq_timeout = "1500ms"
max_sources = 100

[firewall]
backend = "command"
table = "ignored_here"
open_command = ["/sbin/hole", "open", "{ip}/{family}", "{proto}", "{port}", "{timeout}", "{client}", "{service}"]

[service.web]
ports = ["tcp/443", "udp/443"]
open_for = "2m"

[service.ssh]
ports = ["tcp/22"]

[[client]]
name = "Alice.laptop_1"
public_key = ")") + kAliceKey + R"("
services = ["web", "ssh"]

[[client]]
name = "bob"
public_key = ")" + kBobKey + R"("
services = ["ssh"]
)");
  CHECK(config.private_key_file == "/k/server.key");
  CHECK(config.state_dir == "/s");
  CHECK(config.audit_log == "/a/audit.jsonl");
  CHECK(config.interfaces == std::vector<std::string>{"eth0", "wg0"});
  CHECK(config.log_level == "debug");
  CHECK(config.syslog);
  CHECK(config.knock.ports == knock::PortRange{20000, 29999});
  CHECK(config.knock.count == 9);
  CHECK(config.knock.protocol == knock::KnockProtocol::kBoth);
  CHECK(config.knock.step_seconds == 60);
  CHECK(config.knock.skew == 2);
  CHECK(config.knock.slots == 8);
  CHECK(config.knock.slack == 0);
  CHECK(config.knock.seq_timeout_ms == 1500);
  CHECK(config.knock.max_sources == 100);
  CHECK(config.firewall.backend == knock::FirewallBackend::kCommand);
  CHECK(config.firewall.open_command.size() == 8);
  CHECK(config.firewall.open_command[2] == "{ip}/{family}");
  CHECK(config.firewall.close_command.empty());
  // Services keep the order of the file, not toml++'s sorted order.
  REQUIRE(config.services.size() == 2);
  CHECK(config.services[0].name == "web");
  CHECK(config.services[0].open_for_ms == 120000);
  CHECK(config.services[0].ports[1].ToString() == "udp/443");
  CHECK(config.services[1].name == "ssh");
  REQUIRE(config.clients.size() == 2);
  CHECK(config.FindClient("bob")->public_key.ToText() == kBobKey);
  CHECK(config.FindClient("Alice.laptop_1")->services ==
        std::vector<std::string>{"web", "ssh"});
  CHECK(config.FindClient("carol") == nullptr);
  CHECK(config.FindService("web")->ports.size() == 2);
  CHECK(config.FindService("ftp") == nullptr);
  CHECK(config.warnings.empty());
}

TEST_CASE("A knock range over the ephemeral ports is a warning, not an error") {
  std::string text = kMinimal + "\n[knock]\nports = \"30000-45000\"\n";
  knock::ServerConfig config = Parse(text);
  CHECK(config.knock.ports == knock::PortRange{30000, 45000});
  CHECK(config.warnings ==
        std::vector<std::string>{"knockd.toml:13:9: knock range 30000-45000 "
                                 "overlaps the Linux ephemeral port range "
                                 "32768-60999 (this host's own connections use "
                                 "those ports)"});
  config = Parse(kMinimal + "\n[knock]\nports = \"16384-32768\"\n");
  CHECK(config.warnings.size() == 1);
  config = Parse(kMinimal + "\n[knock]\nports = \"61000-65535\"\n");
  CHECK(config.warnings.empty());
}

TEST_CASE("Commands without the command backend and no clients are warnings") {
  std::string text = kMinimal +
                     "\n[firewall]\nclose_command = [\"/sbin/hole\", "
                     "\"close\", \"{ip}\"]\n";
  knock::ServerConfig config = Parse(text);
  CHECK(config.warnings ==
        std::vector<std::string>{"knockd.toml:13:17: firewall.close_command "
                                 "is ignored unless backend = \"command\""});
  config =
      Parse("private_key_file = \"/k\"\n[service.ssh]\nports = [\"tcp/22\"]\n");
  CHECK(config.clients.empty());
  CHECK(config.warnings ==
        std::vector<std::string>{"knockd.toml:1:1: no [[client]] tables: no "
                                 "knock can open anything"});
}

TEST_CASE("Errors stay on one line even when the value holds a line break") {
  std::string err = ParseError(kMinimal + "interfaces = [\"eth\\n0\"]\n");
  CHECK(err.find('\n') == std::string::npos);
}

TEST_CASE("A value's error points at the value in the file") {
  CHECK(ParseError(kMinimal + "\n[knock]\ncount = 0\n") ==
        "knockd.toml:13:9: knock.count must be between 1 and 64 (0)");
  CHECK(ParseError(kMinimal + "\n[knock]\ncount = 65\n") ==
        "knockd.toml:13:9: knock.count must be between 1 and 64 (65)");
  CHECK(ParseError(kMinimal + "\n[knock]\nslots = 0\n") ==
        "knockd.toml:13:9: knock.slots must be between 1 and 256 (0)");
  CHECK(ParseError(kMinimal + "\n[knock]\nseq_timeout = \"0ms\"\n") ==
        "knockd.toml:13:15: knock.seq_timeout: not a duration \"0ms\" (it "
        "must be positive)");
  CHECK(ParseError(kMinimal + "\n[knock]\nport = \"1-2\"\n") ==
        "knockd.toml:13:1: unknown key \"port\" in [knock]; did you mean "
        "\"ports\"?");
}

TEST_CASE("require_bound and allow_bound, per client and per service") {
  knock::ServerConfig config = Parse(kMinimal);
  CHECK_FALSE(knock::AllowsBound(config.clients[0], config.services[0]));
  CHECK_FALSE(knock::RequiresBound(config.clients[0], config.services[0]));
  config = Parse(kMinimal + "allow_bound = true\n");
  CHECK(knock::AllowsBound(config.clients[0], config.services[0]));
  CHECK_FALSE(knock::RequiresBound(config.clients[0], config.services[0]));
  // Requiring implies allowing.
  config = Parse(kMinimal + "require_bound = true\n");
  CHECK(knock::AllowsBound(config.clients[0], config.services[0]));
  CHECK(knock::RequiresBound(config.clients[0], config.services[0]));
  std::string text = kMinimal;
  text.replace(text.find("ports = [\"tcp/22\"]"), 18,
               "ports = [\"tcp/22\"]\nrequire_bound = true");
  config = Parse(text);
  CHECK(config.services[0].require_bound);
  CHECK_FALSE(config.clients[0].require_bound);
  CHECK(knock::RequiresBound(config.clients[0], config.services[0]));

  CHECK(ParseError(kMinimal + "require_bound = \"yes\"\n") ==
        "knockd.toml:11:17: client.require_bound must be true or false, not a "
        "string (\"yes\")");
  CHECK(ParseError(kMinimal + "allow_bound = 1\n") ==
        "knockd.toml:11:15: client.allow_bound must be true or false, not an "
        "integer (1)");
  text = kMinimal;
  text.replace(text.find("ports = [\"tcp/22\"]"), 18,
               "ports = [\"tcp/22\"]\nrequire_bound = 0");
  CHECK(ParseError(text) ==
        "knockd.toml:6:17: service.ssh.require_bound must be true or false, "
        "not an integer (0)");
}

TEST_CASE("Bound knocks need room for head and tail") {
  // 43 knocks and their 22-port tail exceed the 64 ports a grant carries.
  const std::string knock = "\n[knock]\ncount = 43\n";
  CHECK(Parse(kMinimal + knock).knock.count == 43);
  CHECK(ParseError(kMinimal + "require_bound = true\n" + knock) ==
        "knockd.toml:11:17: client.require_bound: a bound sequence of 43 "
        "knocks needs 65 distinct ports, more than 64 or than the knock range "
        "holds (true)");
  CHECK(Parse(kMinimal + "allow_bound = true\n" + "\n[knock]\ncount = 42\n")
            .clients[0]
            .allow_bound);
}

TEST_CASE("The audit keys: the sealing state follows state_dir unless named") {
  CHECK(Parse("state_dir = \"/s\"\n" + kMinimal).audit_key_file ==
        "/s/audit.key");
  knock::ServerConfig config = Parse(
      "audit_key_file = \"/k/seal\"\naudit_max_bytes = 1048576\n" + kMinimal);
  CHECK(config.audit_key_file == "/k/seal");
  CHECK(config.audit_max_bytes == 1048576);
  CHECK(ParseError("audit_max_bytes = -1\n" + kMinimal) ==
        "knockd.toml:1:19: audit_max_bytes must be between 0 and "
        "1099511627776 (-1)");
  CHECK(ParseError("audit_key_file = \"\"\n" + kMinimal) ==
        "knockd.toml:1:18: audit_key_file must not be empty (\"\")");
}

TEST_CASE("The sequence strength check is exact at 96 bits") {
  // 4096 ports carry 12 bits a knock: 8 knocks are exactly 96.
  knock::ServerConfig config =
      Parse(kMinimal + "\n[knock]\nports = \"20000-24095\"\n");
  CHECK(config.knock.ports.size() == 4096);
  CHECK(ParseError(kMinimal + "\n[knock]\nports = \"20000-24094\"\n") ==
        "knockd.toml:13:9: 8 knocks over 4095 ports carry 95.9 bits; knock/v1 "
        "needs at least 96");
  CHECK(ParseError(kMinimal + "\n[knock]\nports = \"20000-20000\"\ncount = "
                              "1\n") ==
        "knockd.toml:14:9: 1 knock over 1 port carries 0 bits; knock/v1 needs "
        "at least 96");
}

TEST_CASE("LoadServerConfig names an unreadable file") {
  knock::ServerConfig config;
  std::string err;
  CHECK_FALSE(
      knock::LoadServerConfig("/nonexistent/knockd.toml", &config, &err));
  CHECK(err ==
        "/nonexistent/knockd.toml: cannot read (No such file or directory)");
  CHECK_FALSE(knock::LoadServerConfig("/tmp", &config, &err));
  CHECK(err == "/tmp: cannot read (it is a directory)");
}

TEST_CASE("The example conf/knockd.toml is valid") {
  knock::ServerConfig config;
  std::string err;
  bool ok = knock::LoadServerConfig(
      std::string(KNOCK_SOURCE_DIR) + "/conf/knockd.toml", &config, &err);
  INFO(err);
  REQUIRE(ok);
  CHECK(config.private_key_file == "/etc/knockd/server.key");
  CHECK(config.knock.ports == knock::PortRange{16384, 32767});
  CHECK(config.FindService("ssh") != nullptr);
  CHECK(config.clients.size() == 1);
  CHECK(config.warnings.empty());
}

TEST_CASE("Every broken configuration in the corpus fails with its message") {
  ChangeDirectory in_data(KNOCK_TEST_DATA_DIR);
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator("bad_config")) {
    if (entry.path().extension() == ".toml") {
      names.push_back(entry.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  CHECK(names.size() >= 35);
  // A directory is a case with drop-ins: D/knockd.toml, D/clients.d, ...
  std::vector<std::string> dirs;
  for (const auto& entry : std::filesystem::directory_iterator("bad_config")) {
    if (entry.is_directory()) dirs.push_back(entry.path().filename().string());
  }
  std::sort(dirs.begin(), dirs.end());
  CHECK(dirs.size() >= 9);
  for (const std::string& dir : dirs) names.push_back(dir + "/knockd");
  for (const std::string& name : names) {
    const std::string case_name = name.substr(0, name.find('/'));
    const std::string path = "bad_config/" + name + ".toml";
    const std::string expected =
        ReadText("bad_config/" + case_name + ".expected");
    INFO(path);
    REQUIRE_FALSE(expected.empty());
    CHECK(expected.find('\n') == std::string::npos);
    knock::ServerConfig config;
    std::string err;
    CHECK_FALSE(knock::LoadServerConfig(path, &config, &err));
    CHECK(err == expected);
  }
}

namespace {

knock::ConfigSources WithDropIns(
    const std::string& main_text,
    const std::vector<std::pair<std::string, std::string>>& files) {
  knock::ConfigSources sources;
  sources.files.push_back(
      {knock::ConfigFileKind::kMain, "knockd.toml", main_text});
  for (const auto& [path, text] : files) {
    const bool clients = path.rfind("clients.d/", 0) == 0;
    sources.files.push_back({clients ? knock::ConfigFileKind::kClients
                                     : knock::ConfigFileKind::kServices,
                             path, text});
  }
  return sources;
}

std::string ClientDropIn(const std::string& name, const std::string& key,
                         const std::string& services) {
  return "[[client]]\nname = \"" + name + "\"\npublic_key = \"" + key +
         "\"\nservices = [" + services + "]\n";
}

}  // namespace

TEST_CASE("Drop-ins add services and clients after knockd.toml's") {
  knock::ConfigSources sources = WithDropIns(
      kMinimal,
      {{"services.d/web.toml", "[service.web]\nports = [\"tcp/443\"]\n"},
       {"clients.d/bob.toml",
        ClientDropIn("bob", kBobKey, "\"ssh\", \"web\"")}});
  knock::ServerConfig config;
  std::string err;
  REQUIRE(knock::ParseServerConfigSources(sources, &config, &err));
  REQUIRE(config.services.size() == 2);
  CHECK(config.services[1].name == "web");
  REQUIRE(config.clients.size() == 2);
  CHECK(config.client_sources[0] == "knockd.toml");
  CHECK(config.clients[1].name == "bob");
  CHECK(config.client_sources[1] == "clients.d/bob.toml");
  CHECK(config.clients[1].services == std::vector<std::string>{"ssh", "web"});
  CHECK(config.warnings.empty());
}

TEST_CASE("Services and clients may all live in drop-ins") {
  knock::ConfigSources sources = WithDropIns(
      "private_key_file = \"/k\"\n",
      {{"services.d/ssh.toml", "[service.ssh]\nports = [\"tcp/22\"]\n"},
       {"clients.d/alice.toml", ClientDropIn("alice", kAliceKey, "\"ssh\"")}});
  knock::ServerConfig config;
  std::string err;
  INFO(err);
  REQUIRE(knock::ParseServerConfigSources(sources, &config, &err));
  CHECK(config.clients.size() == 1);
  CHECK(config.warnings.empty());
  // Control: without the services drop-in there is nothing to open.
  sources.files.erase(sources.files.begin() + 1);
  CHECK_FALSE(knock::ParseServerConfigSources(sources, &config, &err));
  CHECK(err ==
        "knockd.toml:1:1: no services: add a [service.NAME] table such as "
        "[service.ssh] with ports = [\"tcp/22\"]");
}

TEST_CASE("A client named in two drop-ins is refused naming both places") {
  knock::ConfigSources sources = WithDropIns(
      kMinimal,
      {{"clients.d/a.toml", ClientDropIn("bob", kBobKey, "\"ssh\"")},
       {"clients.d/b.toml",
        "\n" + ClientDropIn("bob",
                            "NziYKTm8Smn/ZmJaDa0OyGoZsubGkKM3a0i7O7pzlVk=",
                            "\"ssh\"")}});
  knock::ServerConfig config;
  std::string err;
  CHECK_FALSE(knock::ParseServerConfigSources(sources, &config, &err));
  CHECK(err ==
        "clients.d/b.toml:3:8: duplicate client name, first at "
        "clients.d/a.toml:2:8 (\"bob\")");
}

TEST_CASE("Loading from disk reads drop-ins in name order, skipping others") {
  const std::string dir = std::filesystem::temp_directory_path().string() +
                          "/knockd-dropins-" + std::to_string(getpid());
  std::filesystem::create_directories(dir + "/clients.d");
  std::filesystem::create_directories(dir + "/services.d");
  std::ofstream(dir + "/knockd.toml") << kMinimal;
  std::ofstream(dir + "/services.d/web.toml")
      << "[service.web]\nports = [\"tcp/443\"]\n";
  std::ofstream(dir + "/clients.d/20-bob.toml")
      << ClientDropIn("bob", kBobKey, "\"web\"");
  std::ofstream(dir + "/clients.d/10-carol.toml") << ClientDropIn(
      "carol", "NziYKTm8Smn/ZmJaDa0OyGoZsubGkKM3a0i7O7pzlVk=", "\"ssh\"");
  // Not drop-ins: a hidden temporary file and a backup.
  std::ofstream(dir + "/clients.d/.30-dave.toml") << "broken = ";
  std::ofstream(dir + "/clients.d/20-bob.toml.dpkg-old") << "broken = ";
  knock::ServerConfig config;
  std::string err;
  const bool ok = knock::LoadServerConfig(dir + "/knockd.toml", &config, &err);
  std::filesystem::remove_all(dir);
  INFO(err);
  REQUIRE(ok);
  REQUIRE(config.clients.size() == 3);
  CHECK(config.clients[1].name == "carol");
  CHECK(config.clients[2].name == "bob");
  CHECK(config.client_sources[2] == dir + "/clients.d/20-bob.toml");
  CHECK(config.FindService("web") != nullptr);
}
