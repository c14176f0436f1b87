// The knock program as users and scripts meet it: the built binary, run
// with a private HOME and XDG directories.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/x25519_key.h"
#include "program_run.h"
#include "temp_dir.h"

namespace {

using Run = ProgramRun;

/// A throwaway home: $HOME, $XDG_CONFIG_HOME and $XDG_STATE_HOME of the runs.
struct Sandbox {
  TempDir dir{"knock-cli-test"};
  std::string root = dir.path(), home, config_home, state_home;
  Sandbox() {
    home = root + "/home";
    config_home = root + "/config";
    state_home = root + "/state";
    std::filesystem::create_directories(home);
  }

  std::string KeyPath() const { return config_home + "/knock/private.key"; }
  std::string StatePath() const { return state_home + "/knock/used"; }

  void Write(const std::string& path, const std::string& text,
             mode_t mode = 0600) const {
    std::filesystem::create_directories(
        std::filesystem::path(path).parent_path());
    std::ofstream(path) << text;
    chmod(path.c_str(), mode);
  }

  Run Knock(const std::vector<std::string>& args,
            const std::string& input = "") const {
    const std::string in = root + "/stdin";
    std::ofstream(in) << input;
    const std::vector<std::string> env = {
        "HOME=" + home, "XDG_CONFIG_HOME=" + config_home,
        "XDG_STATE_HOME=" + state_home, "PATH=/usr/bin:/bin", "LANG=C"};
    return RunProgram(KNOCK_BINARY, args, root, in, &env);
  }
};

nlohmann::json Vectors() {
  std::ifstream in(std::string(KNOCK_TEST_DATA_DIR) + "/knock-v1.json");
  REQUIRE(in.good());
  return nlohmann::json::parse(in)["vectors"];
}

std::string Join(const std::vector<uint16_t>& ports) {
  std::string line;
  for (uint16_t port : ports)
    line += (line.empty() ? "" : " ") + std::to_string(port);
  return line;
}

std::string PortRangeOf(const nlohmann::json& v) {
  const int base = v["base"];
  const int range = v["range"];
  return std::to_string(base) + "-" + std::to_string(base + range - 1);
}

constexpr char kClientPrivate[] =
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr char kServerPublic[] = "NYBy1jZYgNGu6jKa35EhODhR7SGijjt16WXQ0s0WYlQ=";
constexpr char kOtherPublic[] = "V9tLNZ8jrl4Ubk4lEgVnBHIlBjSMFQwUdT0Mkz0E1CE=";

// A sandbox with the first vector's client key and a config naming two
// servers on this machine.
void WriteBastionConfig(const Sandbox& box, int slots = 4) {
  box.Write(box.KeyPath(), std::string(kClientPrivate) + "\n");
  box.Write(
      box.config_home + "/knock/knock.toml",
      "[server.bastion]\nhost = \"127.0.0.1\"\npublic_key = \"" +
          std::string(kServerPublic) +
          "\"\nports = \"40000-56383\"\nslots = " + std::to_string(slots) +
          "\n\n[server.web]\nhost = \"127.0.0.1\"\npublic_key = \"" +
          kOtherPublic + "\"\n");
}

// The ports a -v run reported sending, and the slot it used.
std::string SentPorts(const std::string& verbose, int* slot) {
  std::istringstream lines(verbose);
  std::string line, ports;
  while (std::getline(lines, line)) {
    size_t at = line.find(" slot ");
    if (at != std::string::npos && line.find("knocks") != std::string::npos)
      *slot = std::stoi(line.substr(at + 6));
    at = line.find(" port ");
    if (line.rfind("knock: knock ", 0) == 0 && at != std::string::npos)
      ports += (ports.empty() ? "" : " ") +
               line.substr(at + 6, line.find(" at +") - at - 6);
  }
  return ports;
}

/// A TCP listener on a free port of 127.0.0.1.
struct Listener {
  int fd = -1;
  uint16_t port = 0;
  explicit Listener(bool listening = true) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) ==
            0);
    socklen_t length = sizeof address;
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
    if (listening) REQUIRE(listen(fd, 8) == 0);
  }
  ~Listener() { close(fd); }
};

}  // namespace

TEST_CASE("dry runs reproduce every shared vector", "[knock_cli]") {
  for (const auto& v : Vectors()) {
    CAPTURE(v["service"], v["window"], v["slot"]);
    Sandbox box;
    box.Write(box.root + "/client.key",
              v["client_private"].get<std::string>() + "\n");
    const std::string config = box.root + "/knock.toml";
    box.Write(config, "private_key_file = \"" + box.root +
                          "/client.key\"\n[server.vector]\nhost = "
                          "\"192.0.2.1\"\npublic_key = \"" +
                          v["server_public"].get<std::string>() +
                          "\"\nports = \"" + PortRangeOf(v) +
                          "\"\ncount = " + std::to_string(v["n"].get<int>()) +
                          "\nstep = \"30s\"\n");
    const std::string at =
        std::to_string(v["window"].get<uint64_t>() * 30 + 29);
    const std::string expected = Join(v["ports"]) + "\n";
    // The configuration's shape, with --slots for the widest slot.
    Run run = box.Knock({"-c", config, "--dry-run", "--slots", "256", "--at",
                         at, "--slot", std::to_string(v["slot"].get<int>()),
                         "vector", v["service"]});
    CHECK(run.err == "");
    CHECK(run.out == expected);
    CHECK(run.status == 0);

    // The same with everything on the command line and the default key.
    box.Write(box.KeyPath(), v["client_private"].get<std::string>() + "\n");
    run = box.Knock({"--dry-run", "--server-key", v["server_public"], "--ports",
                     PortRangeOf(v), "--count",
                     std::to_string(v["n"].get<int>()), "--slots", "256",
                     "--at", at, "--slot", std::to_string(v["slot"].get<int>()),
                     "192.0.2.1", v["service"]});
    CHECK(run.err == "");
    CHECK(run.out == expected);
    CHECK(run.status == 0);
    CHECK_FALSE(std::filesystem::exists(box.StatePath()));
  }
}

TEST_CASE("dry runs of bound sequences reproduce the bound vectors",
          "[knock_cli]") {
  std::ifstream in(std::string(KNOCK_TEST_DATA_DIR) + "/knock-v1-bound.json");
  REQUIRE(in.good());
  // Kept whole: a range-for over a temporary's member outlives it.
  const nlohmann::json file = nlohmann::json::parse(in);
  for (const auto& v : file["vectors"]) {
    CAPTURE(v["bound_to"]);
    Sandbox box;
    box.Write(box.KeyPath(), v["client_private"].get<std::string>() + "\n");
    const std::string at =
        std::to_string(v["window"].get<uint64_t>() * 30 + 29);
    const std::vector<std::string> args = {"--dry-run",
                                           "--server-key",
                                           v["server_public"],
                                           "--ports",
                                           PortRangeOf(v),
                                           "--count",
                                           std::to_string(v["n"].get<int>()),
                                           "--slots",
                                           "256",
                                           "--at",
                                           at,
                                           "--slot",
                                           std::to_string(v["slot"].get<int>()),
                                           "192.0.2.1",
                                           v["service"]};
    std::vector<std::string> bound = args;
    bound.insert(bound.begin(), {"--bind", v["bound_to"]});
    Run run = box.Knock(bound);
    CHECK(run.out == Join(v["sending_order"]) + "\n");
    CHECK(run.err == "knock: bound to " + v["bound_to"].get<std::string>() +
                         ": head " + Join(v["head"]) + ", tail " +
                         Join(v["tail"]) + "\n");
    CHECK(run.status == 0);
    // Control: without --bind the same command gives another sequence.
    run = box.Knock(args);
    CHECK(run.status == 0);
    CHECK(run.out != Join(v["sending_order"]) + "\n");
    CHECK(run.err == "");
  }
}

TEST_CASE("knock --bind auto binds to the route's source address",
          "[knock_cli]") {
  Sandbox box;
  box.Write(box.KeyPath(), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
  const Run run =
      box.Knock({"--dry-run", "--bind", "auto", "--server-key",
                 "NYBy1jZYgNGu6jKa35EhODhR7SGijjt16WXQ0s0WYlQ=", "127.0.0.1"});
  CHECK(run.status == 0);
  CHECK(run.err.rfind("knock: bound to 127.0.0.1: head ", 0) == 0);
}

TEST_CASE("bad usage exits 2 with one line naming the problem", "[knock_cli]") {
  Sandbox box;
  /// One bad command line and the exact error it must give.
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  const std::vector<Case> cases = {
      {{"--bind", "bastion.example", "bastion"},
       "knock: --bind must be \"auto\" or an IP address "
       "(\"bastion.example\") (see: knock --help)\n"},
      {{"--frob", "bastion"},
       "knock: unknown option \"--frob\" (see: knock --help)\n"},
      {{"bastion", "--gap=5ms", "--verbose=yes"},
       "knock: option --verbose takes no value (see: knock --help)\n"},
      {{"bastion", "--wait"},
       "knock: option --wait needs a value (see: knock --help)\n"},
      {{}, "knock: missing SERVER (see: knock --help)\n"},
      {{"bastion", "ssh", "extra"},
       "knock: unexpected argument \"extra\" (see: knock --help)\n"},
      {{"--count", "many", "bastion"},
       "knock: --count: not a whole number from 1 to 65535 \"many\" (see: "
       "knock --help)\n"},
      {{"-4", "-6", "bastion"},
       "knock: -4 and -6 exclude each other (see: knock --help)\n"},
      {{"bastion", "SSH"},
       "knock: not a service name \"SSH\" (1 to 64 of a-z 0-9 _ -) (see: "
       "knock --help)\n"},
      {{"--timeout", "10x", "bastion"},
       "knock: --timeout: not a duration \"10x\" (use ms, s, m or h) (see: "
       "knock --help)\n"},
      {{"proxy", "--frob", "bastion", "22"},
       "knock: unknown option \"--frob\" (see: knock proxy --help)\n"},
      {{"proxy", "bastion"},
       "knock: missing SERVER or PORT (see: knock proxy --help)\n"},
      {{"proxy", "bastion", "ssh", "port22"},
       "knock: not a port \"port22\" (see: knock proxy --help)\n"},
      {{"init", "--name"},
       "knock: option --name needs a value (see: knock init --help)\n"},
      {{"genkey", "--frob"},
       "knock: unknown option \"--frob\" (see: knock genkey --help)\n"},
      {{"pubkey", "SECRETKEY"},
       "knock: pubkey takes no argument; it reads the private key on "
       "standard input (see: knock pubkey --help)\n"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.args);
    Run run = box.Knock(c.args);
    CHECK(run.status == 2);
    CHECK(run.err == c.err);
    CHECK(run.out == "");
  }
}

TEST_CASE("help works on the program and every subcommand", "[knock_cli]") {
  Sandbox box;
  for (std::vector<std::string> args : {std::vector<std::string>{"--help"},
                                        {"-h"},
                                        {"bastion", "--help"},
                                        {"init", "--help"},
                                        {"proxy", "--help"},
                                        {"genkey", "--help"},
                                        {"pubkey", "-h"}}) {
    CAPTURE(args);
    Run run = box.Knock(args);
    CHECK(run.status == 0);
    CHECK(run.out.rfind("Usage: knock", 0) == 0);
    CHECK(run.err == "");
  }
  CHECK(box.Knock({"--help"}).out.find("--dry-run") != std::string::npos);
}

TEST_CASE("init creates a private key and prints the stanza", "[knock_cli]") {
  Sandbox box;
  Run run = box.Knock({"init", "--name", "alice@laptop"});
  REQUIRE(run.status == 0);
  CHECK(run.err == "");
  struct stat info {};
  REQUIRE(stat(box.KeyPath().c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  REQUIRE(stat((box.config_home + "/knock").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0700);

  std::string text = ReadFile(box.KeyPath());
  REQUIRE(text.size() == 45);
  knock::PrivateKey key;
  std::string err;
  REQUIRE(knock::PrivateKey::FromText(text.substr(0, 44), &key, &err));
  const std::string pub = key.Public().ToText();
  CHECK(run.out == "# private key: " + box.KeyPath() +
                       " (created)\n# public key:  " + pub +
                       "\n# Paste this into the server's knockd.toml, then "
                       "run: knockd check\n[[client]]\nname = "
                       "\"alice@laptop\"\npublic_key = \"" +
                       pub + "\"\nservices = [\"ssh\"]\n");

  // Again: the same key, not a new one; the default name is user@host.
  run = box.Knock({"init"});
  REQUIRE(run.status == 0);
  CHECK(run.out.find(box.KeyPath() + " (already there)") != std::string::npos);
  CHECK(run.out.find("public_key = \"" + pub + "\"") != std::string::npos);
  CHECK(run.out.find("\nname = \"") != std::string::npos);
  CHECK(run.out.find("@") != std::string::npos);
  CHECK(ReadFile(box.KeyPath()) == text);

  // pubkey agrees; genkey makes keys pubkey accepts.
  run = box.Knock({"pubkey"}, text);
  CHECK(run.out == pub + "\n");
  Run fresh = box.Knock({"genkey"});
  CHECK(fresh.status == 0);
  CHECK(fresh.out.size() == 45);
  CHECK(box.Knock({"pubkey"}, fresh.out).status == 0);
  run = box.Knock({"pubkey"}, "my-secret-text\n");
  CHECK(run.status == 1);
  CHECK(run.err ==
        "knock: standard input: bad private key: a key is 44 base64 "
        "characters, got 14 (secret, not shown)\n");
}

TEST_CASE("key problems say what to do", "[knock_cli]") {
  Sandbox box;
  Run run = box.Knock({"--server-key", kServerPublic, "--dry-run", "host"});
  CHECK(run.status == 1);
  CHECK(run.err ==
        "knock: no private key \"" + box.KeyPath() + "\"; run: knock init\n");
  box.Write(box.KeyPath(), std::string(kClientPrivate) + "\n", 0644);
  run = box.Knock({"--server-key", kServerPublic, "--dry-run", "host"});
  CHECK(run.status == 1);
  CHECK(run.err == "knock: " + box.KeyPath() +
                       ": private key file is readable by others (mode "
                       "0644); run: chmod 600 " +
                       box.KeyPath() + "\n");
  CHECK(run.out == "");
}

TEST_CASE("an unknown server lists the known ones", "[knock_cli]") {
  Sandbox box;
  Run run = box.Knock({"bastion"});
  CHECK(run.status == 1);
  CHECK(run.err ==
        "knock: unknown server \"bastion\": there is no "
        "configuration file \"" +
            box.config_home +
            "/knock/knock.toml\"; or give --server-key KEY to "
            "knock a host directly\n");
  WriteBastionConfig(box);
  run = box.Knock({"--dry-run", "bastoin"});
  CHECK(run.status == 1);
  CHECK(run.err == "knock: unknown server \"bastoin\" in \"" + box.config_home +
                       "/knock/knock.toml\" (known: bastion, web); or give "
                       "--server-key KEY to knock a host directly\n");
}

TEST_CASE("configuration errors point at FILE:LINE:COL", "[knock_cli]") {
  Sandbox box;
  const std::string config = box.root + "/bad.toml";
  box.Write(config, "[server.bastion]\nhost = \"127.0.0.1\"\npublic_key = \"" +
                        std::string(kServerPublic) + "\"\ncount = \"many\"\n");
  Run run = box.Knock({"-c", config, "bastion"});
  CHECK(run.status == 1);
  CHECK(run.err.rfind("knock: " + config + ":4:9: ", 0) == 0);
  CHECK(run.err.find('\n') == run.err.size() - 1);
  run = box.Knock({"-c", box.root + "/missing.toml", "bastion"});
  CHECK(run.status == 1);
  CHECK(run.err.find(box.root + "/missing.toml") != std::string::npos);
}

TEST_CASE("a host that does not resolve uses up no slot", "[knock_cli]") {
  Sandbox box;
  WriteBastionConfig(box);
  Run run = box.Knock({"-4", "--server-key", kServerPublic, "2001:db8::9"});
  CHECK(run.status == 1);
  CHECK(run.err ==
        "knock: cannot resolve \"2001:db8::9\" as IPv4 (-4): Address family "
        "for hostname not supported\n");
  CHECK_FALSE(std::filesystem::exists(box.StatePath()));
}

TEST_CASE("runs rotate slots and --dry-run shows the next one using none",
          "[knock_cli]") {
  Sandbox box;
  WriteBastionConfig(box);
  const std::string now = std::to_string(std::time(nullptr));
  const Run dry = box.Knock({"--dry-run", "--at", now, "bastion"});
  REQUIRE(dry.status == 0);
  CHECK(box.Knock({"--dry-run", "--at", now, "bastion"}).out == dry.out);
  CHECK(box.Knock({"--dry-run", "--at", now, "--slot", "0", "bastion"}).out ==
        dry.out);

  int first_slot = -1, second_slot = -1;
  const Run first = box.Knock({"-v", "--udp", "--at", now, "bastion"});
  REQUIRE(first.status == 0);
  CHECK(first.out == "");
  CHECK(SentPorts(first.err, &first_slot) + "\n" == dry.out);
  const Run second = box.Knock({"-v", "--udp", "--at", now, "bastion"});
  REQUIRE(second.status == 0);
  const std::string second_ports = SentPorts(second.err, &second_slot);
  CHECK(first_slot == 0);
  CHECK(second_slot == 1);
  CHECK(second_ports + "\n" != dry.out);
  // The next dry run shows slot 2, which neither run used.
  const Run next = box.Knock({"--dry-run", "--at", now, "bastion"});
  CHECK(next.out ==
        box.Knock({"--dry-run", "--at", now, "--slot", "2", "bastion"}).out);
  CHECK(next.out != second_ports + "\n");
}

TEST_CASE("all slots used is an error with what to do", "[knock_cli]") {
  Sandbox box;
  WriteBastionConfig(box, 2);
  const std::vector<std::string> args = {"--udp", "--at", "1740000000",
                                         "bastion"};
  CHECK(box.Knock(args).status == 0);
  CHECK(box.Knock(args).status == 0);
  Run run = box.Knock(args);
  CHECK(run.status == 1);
  CHECK(run.err ==
        "knock: all 2 slots of window 58000000 are used for bastion/ssh; pick "
        "another --at\n");
  run = box.Knock({"--udp", "--at", "1740000000", "--slot", "1", "bastion"});
  CHECK(run.status == 1);
  CHECK(run.err ==
        "knock: slot 1 of window 58000000 was already sent for bastion/ssh; a "
        "sequence is never sent twice (leave out --slot)\n");
}

TEST_CASE("waiting exits 0 when the port opens and 3 when it never does",
          "[knock_cli]") {
  Sandbox box;
  WriteBastionConfig(box);
  Listener open_port;
  Run run = box.Knock(
      {"--udp", "--wait", std::to_string(open_port.port), "-v", "bastion"});
  CHECK(run.status == 0);
  CHECK(run.err.find("knock: port " + std::to_string(open_port.port) +
                     " open after ") != std::string::npos);

  Listener closed_port(/*listening=*/false);
  run = box.Knock({"--udp", "--wait", std::to_string(closed_port.port),
                   "--timeout", "600ms", "bastion"});
  CHECK(run.status == 3);
  CHECK(run.err == "knock: port " + std::to_string(closed_port.port) +
                       " of bastion (127.0.0.1) did not open within 600ms\n");
}

TEST_CASE("proxy knocks then waits then relays", "[knock_cli]") {
  Sandbox box;
  WriteBastionConfig(box);
  Listener server;
  std::string received;
  // The server greets, then reads until the client's half-close.
  std::thread serve([&] {
    int fd = accept(server.fd, nullptr, nullptr);
    if (fd < 0) return;
    const char greeting[] = "SSH-2.0-test\r\n";
    if (write(fd, greeting, sizeof greeting - 1) < 0) return;
    char buffer[256];
    ssize_t n;
    while ((n = read(fd, buffer, sizeof buffer)) > 0)
      received.append(buffer, n);
    close(fd);
  });
  Run run = box.Knock(
      {"proxy", "--udp", "bastion", "ssh", std::to_string(server.port)},
      "SSH-2.0-client\r\n");
  serve.join();
  CHECK(run.status == 0);
  CHECK(run.err == "");
  CHECK(run.out == "SSH-2.0-test\r\n");
  CHECK(received == "SSH-2.0-client\r\n");
}

TEST_CASE("a shape the server would refuse is refused here too",
          "[knock_cli]") {
  Sandbox box;
  box.Write(box.KeyPath(),
            knock::PrivateKey::Generate().ToTextForKeyFile() + "\n");
  const std::string server_key =
      knock::PrivateKey::Generate().Public().ToText();
  Run run = box.Knock(
      {"--dry-run", "--server-key", server_key, "--count", "300", "192.0.2.1"});
  CHECK(run.err ==
        "knock: 300 knocks per sequence; knock/v1 allows 1 to 64 (see: knock "
        "--help)\n");
  CHECK(run.status == 2);
  CHECK(run.out.empty());
  run = box.Knock({"proxy", "--server-key", server_key, "--count", "65",
                   "192.0.2.1", "22"});
  CHECK(run.err ==
        "knock: 65 knocks per sequence; knock/v1 allows 1 to 64 (see: knock "
        "proxy --help)\n");
  CHECK(run.status == 2);
  run = box.Knock({"--dry-run", "--server-key", server_key, "--ports",
                   "16384-16639", "192.0.2.1"});
  CHECK(run.err ==
        "knock: 8 knocks over 256 ports carry 64 bits; knock/v1 needs at least "
        "96 (see: knock --help)\n");
  CHECK(run.status == 2);
  // Control: the server's largest count is accepted.
  run = box.Knock(
      {"--dry-run", "--server-key", server_key, "--count", "64", "192.0.2.1"});
  CHECK(run.err == "");
  CHECK(run.status == 0);
}

TEST_CASE("knock --version prints the project's version", "[knock_cli]") {
  Sandbox box;
  const Run run = box.Knock({"--version"});
  CHECK(run.out == std::string("knock ") + KNOCK_VERSION + "\n");
  CHECK(run.err.empty());
  CHECK(run.status == 0);
}
