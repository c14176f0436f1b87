// knockd migrate: knockd 0.8 sample configurations (written here from its
// documented format) become knockd.toml files that load, with comments for
// what cannot carry over.
#include <catch2/catch.hpp>
#include <fstream>

#include "common/toml_document.h"
#include "knockd/shared/legacy_config_migration.h"
#include "knockd/shared/server_config.h"

namespace {

std::string Migrate(const std::string& name) {
  const std::string path =
      std::string(KNOCK_TEST_DATA_DIR) + "/knockd08/" + name;
  std::string text, err;
  REQUIRE(knock::ReadConfigText(path, &text, &err));
  std::vector<knock::LegacySection> sections;
  REQUIRE(knock::ParseLegacyConfig(text, name, &sections, &err));
  return knock::MigrateLegacyConfig(sections, name);
}

knock::ServerConfig Load(const std::string& toml) {
  knock::ServerConfig config;
  std::string err;
  const bool ok =
      knock::ParseServerConfig(toml, "migrated.toml", &config, &err);
  INFO(toml);
  INFO(err);
  REQUIRE(ok);
  return config;
}

bool Has(const std::string& text, const std::string& part) {
  INFO(part);
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("An iptables door becomes a service; its closing twin a comment") {
  const std::string toml = Migrate("iptables.conf");
  const knock::ServerConfig config = Load(toml);
  REQUIRE(config.services.size() == 1);
  CHECK(config.services[0].name == "ssh");
  CHECK(config.services[0].ports.size() == 1);
  CHECK(config.services[0].ports[0].ToString() == "tcp/22");
  CHECK(config.interfaces == std::vector<std::string>{"eth0"});
  CHECK(config.syslog);
  CHECK(config.clients.empty());
  CHECK(Has(toml,
            "# [openSSH] (line 8): sequence 7000,8000,9000 is not "
            "carried over (see the end of this file)\n"));
  CHECK(Has(toml,
            "#   it only closes (/sbin/iptables -D INPUT -s %IP% -p tcp "
            "--dport 22 -j ACCEPT): knockd closes every hole itself "
            "after open_for\n"));
  CHECK(Has(toml, "#   tcpflags = syn: no counterpart\n"));
  CHECK(Has(toml,
            "# line 5: LogFile /var/log/knockd.log: knockd logs to "
            "stderr (the journal under systemd) and, sealed, to "
            "audit_log\n"));
  CHECK(Has(toml, "# Static sequences are not supported."));
  CHECK(Has(toml, "knockd client add NAME --key PUBKEY --services ssh\n"));
}

TEST_CASE("nft, ufw and firewalld doors carry their ports; others comments") {
  const std::string toml = Migrate("mixed.conf");
  const knock::ServerConfig config = Load(toml);
  REQUIRE(config.services.size() == 3);
  CHECK(config.services[0].name == "https");
  CHECK(config.services[0].ports[0].ToString() == "tcp/443");
  CHECK(config.services[0].open_for_ms == 10000);
  CHECK(config.services[1].name == "dns");
  REQUIRE(config.services[1].ports.size() == 2);  // ufw without proto: both
  CHECK(config.services[1].ports[0].ToString() == "tcp/53");
  CHECK(config.services[1].ports[1].ToString() == "udp/53");
  CHECK(config.services[2].name == "imap");
  CHECK(config.services[2].ports[0].ToString() == "tcp/993");
  CHECK(Has(toml,
            "#   one_time_sequences = /etc/knockd/dns_sequences: every "
            "knock/v1 sequence is one-time already\n"));
  CHECK(Has(toml,
            "#   stop_command: knockd closes the hole itself after "
            "open_for\n"));
  CHECK(Has(toml, "#   no port found in: /usr/local/bin/wake-nas %IP%\n"));
  CHECK(Has(toml, "--services https,dns,imap\n"));
}

TEST_CASE("knockd.conf syntax errors name the line") {
  std::vector<knock::LegacySection> sections;
  std::string err;
  CHECK_FALSE(
      knock::ParseLegacyConfig("sequence = 1,2\n", "k.conf", &sections, &err));
  CHECK(err == "k.conf:1: a setting before any [section] (\"sequence = 1,2\")");
  CHECK_FALSE(
      knock::ParseLegacyConfig("# c\n[open\n", "k.conf", &sections, &err));
  CHECK(err == "k.conf:2: a section header is [NAME] (\"[open\")");
}

TEST_CASE("A configuration without ports says to write services by hand") {
  std::vector<knock::LegacySection> sections;
  std::string err;
  REQUIRE(
      knock::ParseLegacyConfig("[wake]\nsequence = 1,2\ncommand = /bin/true\n",
                               "k.conf", &sections, &err));
  const std::string toml = knock::MigrateLegacyConfig(sections, "k.conf");
  CHECK(Has(toml,
            "# No door's command named a port: write the services by "
            "hand"));
  // Control: such an output does not load until a service is written.
  knock::ServerConfig config;
  CHECK_FALSE(knock::ParseServerConfig(toml, "m.toml", &config, &err));
}

TEST_CASE("Debian's own knockd.conf migrates both doors that open") {
  const std::string toml = Migrate("debian.conf");
  const knock::ServerConfig config = Load(toml);
  REQUIRE(config.services.size() == 2);
  CHECK(config.services[0].name == "ssh");
  CHECK(config.services[0].ports[0].ToString() == "tcp/22");
  // knock_add -p tcp -d 443: knockd 0.8's own helper script.
  CHECK(config.services[1].name == "https");
  REQUIRE(config.services[1].ports.size() == 1);
  CHECK(config.services[1].ports[0].ToString() == "tcp/443");
  CHECK(config.syslog);
  CHECK_FALSE(Has(toml, "no port found"));
  CHECK(Has(toml,
            "# from [openHTTPS] (line 19): /usr/local/sbin/knock_add -i -c "
            "INPUT -p tcp -d 443 -f %IP%\n[service.https]\n"));
  CHECK(
      Has(toml, "knockd client add NAME --key PUBKEY --services ssh,https\n"));
}

TEST_CASE("knockd 0.8's helper script: udp, and -x only closes") {
  std::vector<knock::LegacySection> sections;
  std::string err;
  REQUIRE(knock::ParseLegacyConfig(
      "[openDNS]\nsequence = 1,2,3\ncommand = knock_helper_ipt.sh -a -p udp "
      "-d 53 -f %IP%\n[closeDNS]\nsequence = 3,2,1\ncommand = "
      "knock_helper_ipt.sh -x -p udp -d 53 -f %IP%\n",
      "dns.conf", &sections, &err));
  const std::string toml = knock::MigrateLegacyConfig(sections, "dns.conf");
  const knock::ServerConfig config = Load(toml);
  REQUIRE(config.services.size() == 1);
  CHECK(config.services[0].name == "dns");
  CHECK(config.services[0].ports[0].ToString() == "udp/53");
  CHECK(Has(toml,
            "#   it only closes (knock_helper_ipt.sh -x -p udp -d 53 -f "
            "%IP%): knockd closes every hole itself after open_for\n"));
}
