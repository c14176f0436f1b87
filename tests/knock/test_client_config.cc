// knock's configuration: defaults, every key read, the example file, ~ in
// paths, and broken files with their exact one-line errors.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "knock/lib/client_config.h"
#include "portable_test_support.h"
#include "scoped_env.h"

namespace {

const char kServerKey[] = "3+U7bQ+t0ECCR1dDYTZ50fOxZbPIHra1oIMjslv1Hh4=";

knock::ClientConfig Parse(const std::string& text) {
  knock::ClientConfig config;
  std::string err;
  bool ok = knock::ParseClientConfig(text, "knock.toml", &config, &err);
  INFO(err);
  REQUIRE(ok);
  return config;
}

std::string ParseError(const std::string& text) {
  knock::ClientConfig config;
  std::string err;
  REQUIRE_FALSE(knock::ParseClientConfig(text, "knock.toml", &config, &err));
  return err;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

}  // namespace

TEST_CASE("An empty client configuration is valid and takes the defaults") {
  knock::ClientConfig config = Parse("");
  CHECK(config.path == "knock.toml");
  CHECK(config.private_key_file == "~/.config/knock/private.key");
  CHECK(config.servers.empty());
  CHECK(config.FindServer("bastion") == nullptr);
}

TEST_CASE("A server entry needs host and public_key; the rest defaults") {
  knock::ClientConfig config = Parse(std::string(R"(
[server.bastion]
host = "bastion.example.org"
public_key = ")") + kServerKey + "\"\n");
  REQUIRE(config.servers.size() == 1);
  const knock::ServerEntry* server = config.FindServer("bastion");
  REQUIRE(server != nullptr);
  CHECK(server->name == "bastion");
  CHECK(server->host == "bastion.example.org");
  CHECK(server->public_key.ToText() == kServerKey);
  CHECK(server->ports == knock::PortRange{16384, 32767});
  CHECK(server->count == 8);
  CHECK(server->protocol == knock::KnockProtocol::kTcp);
  CHECK(server->step_seconds == 30);
  CHECK(server->slots == 4);
  CHECK(server->service == "ssh");
}

TEST_CASE("Every client key is read, servers in file order") {
  knock::ClientConfig config = Parse(std::string(R"(
private_key_file = "/home/a/knock.key"

[server.zeta]
host = "2001:db8::1"
public_key = ")") + kServerKey + R"("
ports = "1024-65535"
count = 7
protocol = "udp"
step = "2m"
slots = 16
service = "web_1"

[server."alpha.example"]
host = "198.18.0.1"
public_key = ")" + kServerKey + "\"\n");
  CHECK(config.private_key_file == "/home/a/knock.key");
  REQUIRE(config.servers.size() == 2);
  CHECK(config.servers[0].name == "zeta");
  CHECK(config.servers[1].name == "alpha.example");
  const knock::ServerEntry& zeta = config.servers[0];
  CHECK(zeta.host == "2001:db8::1");
  CHECK(zeta.ports == knock::PortRange{1024, 65535});
  CHECK(zeta.count == 7);
  CHECK(zeta.protocol == knock::KnockProtocol::kUdp);
  CHECK(zeta.step_seconds == 120);
  CHECK(zeta.slots == 16);
  CHECK(zeta.service == "web_1");
  CHECK(config.FindServer("alpha.example")->host == "198.18.0.1");
}

TEST_CASE("Client errors point at the value") {
  CHECK(ParseError("[server.b]\nhost = \"h\"\npublic_key = \"" +
                   std::string(kServerKey) + "\"\nslots = 0\n") ==
        "knock.toml:4:9: server.b.slots must be between 1 and 256 (0)");
  CHECK(ParseError("private_key_file = 7\n") ==
        "knock.toml:1:20: private_key_file must be a string, not an integer "
        "(7)");
  CHECK(ParseError("server = 5\n") ==
        "knock.toml:1:10: server must be a table, not an integer (5)");
}

TEST_CASE("bind_address takes auto or an address, nothing else") {
  const std::string head = "[server.b]\nhost = \"h\"\npublic_key = \"" +
                           std::string(kServerKey) + "\"\n";
  CHECK(Parse(head).servers[0].bind_address == "");
  CHECK(Parse(head + "bind_address = \"auto\"\n").servers[0].bind_address ==
        "auto");
  CHECK(Parse(head + "bind_address = \"2001:db8::7\"\n")
            .servers[0]
            .bind_address == "2001:db8::7");
  CHECK(ParseError(head + "bind_address = \"bastion.example\"\n") ==
        "knock.toml:4:16: server.b.bind_address must be \"auto\" or an IP "
        "address (\"bastion.example\")");
  CHECK(ParseError(head + "bind_address = true\n") ==
        "knock.toml:4:16: server.b.bind_address must be a string, not a "
        "boolean (true)");
}

#ifndef _WIN32
TEST_CASE("ExpandHome replaces a leading ~ only") {
  ScopedEnv home("HOME", "/home/alice");
  CHECK(knock::ExpandHome("~/.config/knock/private.key") ==
        "/home/alice/.config/knock/private.key");
  CHECK(knock::ExpandHome("~") == "/home/alice");
  CHECK(knock::ExpandHome("/etc/knock.key") == "/etc/knock.key");
  CHECK(knock::ExpandHome("~bob/key") == "~bob/key");
  CHECK(knock::ExpandHome("a/~/b") == "a/~/b");
  CHECK(knock::ExpandHome("") == "");
}

TEST_CASE("ExpandHome falls back to the password database without HOME") {
  ScopedEnv home("HOME", nullptr);
  std::string expanded = knock::ExpandHome("~/key");
  CHECK(expanded.rfind("/", 0) == 0);
  CHECK(expanded.size() > 4);
  CHECK(expanded.substr(expanded.size() - 4) == "/key");
}
#else
TEST_CASE("ExpandHome on Windows starts from the user's profile") {
  ScopedEnv home("USERPROFILE", "C:\\Users\\alice");
  CHECK(knock::ExpandHome("~/key") == "C:\\Users\\alice/key");
  CHECK(knock::ExpandHome("~\\key") == "C:\\Users\\alice\\key");
  CHECK(knock::ExpandHome("~bob\\key") == "~bob\\key");
  CHECK(knock::ExpandHome("C:\\k\\key") == "C:\\k\\key");
}
#endif

TEST_CASE("The example conf/knock.toml is valid") {
  knock::ClientConfig config;
  std::string err;
  bool ok = knock::LoadClientConfig(
      std::string(KNOCK_SOURCE_DIR) + "/conf/knock.toml", &config, &err);
  INFO(err);
  REQUIRE(ok);
  const knock::ServerEntry* bastion = config.FindServer("bastion");
  REQUIRE(bastion != nullptr);
  CHECK(bastion->host == "bastion.example.org");
  CHECK(bastion->service == "ssh");
}

TEST_CASE("Every broken client configuration fails with its message") {
  std::vector<std::string> names;
  const std::string dir =
      std::string(KNOCK_TEST_DATA_DIR) + "/bad_client_config";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".toml") {
      names.push_back(entry.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  CHECK(names.size() >= 8);
  for (const std::string& name : names) {
    // The expected text names the file as "bad_client_config/NAME.toml";
    // parsing from memory under that name keeps it independent of the
    // checkout's location.
    const std::string path = "bad_client_config/" + name + ".toml";
    const std::string expected = ReadText(dir + "/" + name + ".expected");
    INFO(path);
    REQUIRE_FALSE(expected.empty());
    knock::ClientConfig config;
    std::string err;
    CHECK_FALSE(knock::ParseClientConfig(
        ReadText(dir + "/" + name + ".toml") + "\n", path, &config, &err));
    CHECK(err == expected);
  }
}
