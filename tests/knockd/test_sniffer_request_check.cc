// The firewall helper's semantic checks of what the sniffer asks: every
// field out of range for the running configuration is refused by name.
#include <catch2/catch.hpp>
#include <string>

#include "common/knock_sequence.h"
#include "common/x25519_key.h"
#include "knockd/helper/sniffer_request_check.h"
#include "knockd/shared/privsep_message.h"
#include "knockd/shared/server_config.h"

namespace {

using knock::PrivsepMessage;
using knock::PrivsepMessageType;

constexpr int64_t kNowSeconds = 1700000000;
constexpr int64_t kNowUs = kNowSeconds * 1000000 + 123456;
constexpr int64_t kStepSeconds = 30;
constexpr uint64_t kSkewWindows = 1;

// Two clients, two services; bob may not open web.
knock::ServerConfig TwoClientConfig() {
  const std::string alice = knock::PrivateKey::Generate().Public().ToText();
  const std::string bob = knock::PrivateKey::Generate().Public().ToText();
  const std::string text = R"(
private_key_file = "/etc/knockd/server.key"

[knock]
step = "30s"
skew = 1
slots = 4

[service.ssh]
ports = ["tcp/22"]
open_for = "30s"

[service.web]
ports = ["tcp/443"]
open_for = "2m"

[[client]]
name = "alice"
public_key = ")" + alice + R"("
services = ["ssh", "web"]

[[client]]
name = "bob"
public_key = ")" + bob + R"("
services = ["ssh"]
)";
  knock::ServerConfig config;
  std::string err;
  const bool ok = knock::ParseServerConfig(text, "knockd.toml", &config, &err);
  INFO(err);
  REQUIRE(ok);
  REQUIRE(config.clients.size() == 2);
  REQUIRE(config.services.size() == 2);
  REQUIRE(config.clients[1].name == "bob");
  REQUIRE(config.services[0].name == "ssh");
  REQUIRE(config.services[1].name == "web");
  REQUIRE(config.knock.step_seconds == kStepSeconds);
  REQUIRE(config.knock.skew == static_cast<int>(kSkewWindows));
  return config;
}

uint64_t NowWindow() { return knock::WindowAt(kNowSeconds, kStepSeconds); }

// Alice opening ssh in slot 0 of the current window, as the matcher sends it.
PrivsepMessage ValidGrant() {
  PrivsepMessage message;
  message.type = PrivsepMessageType::kGrant;
  message.owner.client = 0;
  message.owner.service = 0;
  message.owner.window = NowWindow();
  message.owner.slot = 0;
  message.timeout_ms = 30000;
  return message;
}

PrivsepMessage ValidRefusal() {
  PrivsepMessage message = ValidGrant();
  message.type = PrivsepMessageType::kRefusal;
  message.timeout_ms = 0;
  return message;
}

bool Passes(const PrivsepMessage& message, const knock::ServerConfig& config) {
  std::string err;
  const bool ok = knock::CheckSnifferRequest(message, config, kNowUs, &err);
  INFO(err);
  CHECK(ok);
  return ok;
}

std::string Refusal(const PrivsepMessage& message,
                    const knock::ServerConfig& config) {
  std::string err;
  REQUIRE_FALSE(knock::CheckSnifferRequest(message, config, kNowUs, &err));
  return err;
}

std::string OutsideText(uint64_t window) {
  return "window " + std::to_string(window) + " is outside " +
         std::to_string(NowWindow() - kSkewWindows - 2) + "-" +
         std::to_string(NowWindow() + kSkewWindows + 1);
}

}  // namespace

TEST_CASE("a grant and a refusal the configuration allows pass", "[privsep]") {
  const knock::ServerConfig config = TwoClientConfig();
  CHECK(Passes(ValidGrant(), config));
  CHECK(Passes(ValidRefusal(), config));

  PrivsepMessage web = ValidGrant();
  web.owner.service = 1;
  web.owner.slot = 3;
  web.timeout_ms = 120000;
  CHECK(Passes(web, config));

  PrivsepMessage bob = ValidGrant();
  bob.owner.client = 1;
  CHECK(Passes(bob, config));
}

TEST_CASE("the boundary windows pass, one beyond is refused", "[privsep]") {
  const knock::ServerConfig config = TwoClientConfig();
  // The expired window just behind skew, and one window of lag either way
  // between packet time and the helper's clock.
  const uint64_t oldest = NowWindow() - kSkewWindows - 2;
  const uint64_t newest = NowWindow() + kSkewWindows + 1;
  for (PrivsepMessage message : {ValidGrant(), ValidRefusal()}) {
    const std::string name =
        message.type == PrivsepMessageType::kGrant ? "grant" : "refusal";
    INFO(name);
    for (uint64_t window = oldest; window <= newest; ++window) {
      message.owner.window = window;
      CHECK(Passes(message, config));
    }
    message.owner.window = oldest - 1;
    CHECK(Refusal(message, config) ==
          name + " message: " + OutsideText(oldest - 1));
    message.owner.window = newest + 1;
    CHECK(Refusal(message, config) ==
          name + " message: " + OutsideText(newest + 1));
  }
}

TEST_CASE("windows far out of range are refused", "[privsep]") {
  const knock::ServerConfig config = TwoClientConfig();
  PrivsepMessage message = ValidGrant();
  for (uint64_t window : {uint64_t{0}, uint64_t{1}, UINT64_MAX - 1, UINT64_MAX,
                          NowWindow() * 2}) {
    message.owner.window = window;
    CHECK(Refusal(message, config) == "grant message: " + OutsideText(window));
  }
}

TEST_CASE("a client index beyond the configuration is refused", "[privsep]") {
  const knock::ServerConfig config = TwoClientConfig();
  PrivsepMessage grant = ValidGrant();
  grant.owner.client = 2;
  CHECK(Refusal(grant, config) == "grant message: client 2 of 2");
  grant.owner.client = UINT32_MAX;
  CHECK(Refusal(grant, config) == "grant message: client 4294967295 of 2");
  PrivsepMessage refusal = ValidRefusal();
  refusal.owner.client = 2;
  CHECK(Refusal(refusal, config) == "refusal message: client 2 of 2");
}

TEST_CASE("a service index beyond the configuration is refused", "[privsep]") {
  const knock::ServerConfig config = TwoClientConfig();
  PrivsepMessage grant = ValidGrant();
  grant.owner.service = 2;
  CHECK(Refusal(grant, config) == "grant message: service 2 of 2");
  PrivsepMessage refusal = ValidRefusal();
  refusal.owner.service = UINT32_MAX;
  CHECK(Refusal(refusal, config) == "refusal message: service 4294967295 of 2");
}

TEST_CASE("a service the client may not open is refused", "[privsep]") {
  const knock::ServerConfig config = TwoClientConfig();
  PrivsepMessage grant = ValidGrant();
  grant.owner.client = 1;
  grant.owner.service = 1;
  grant.timeout_ms = 120000;
  CHECK(Refusal(grant, config) ==
        "grant message: client bob may not open service web");
  PrivsepMessage refusal = ValidRefusal();
  refusal.owner.client = 1;
  refusal.owner.service = 1;
  CHECK(Refusal(refusal, config) ==
        "refusal message: client bob may not open service web");
}

TEST_CASE("a slot beyond knock.slots is refused", "[privsep]") {
  const knock::ServerConfig config = TwoClientConfig();
  PrivsepMessage grant = ValidGrant();
  grant.owner.slot = 3;
  CHECK(Passes(grant, config));
  grant.owner.slot = 4;
  CHECK(Refusal(grant, config) == "grant message: slot 4 of 4");
  grant.owner.slot = 255;
  CHECK(Refusal(grant, config) == "grant message: slot 255 of 4");
}

TEST_CASE("a grant timeout other than the service's open_for is refused",
          "[privsep]") {
  const knock::ServerConfig config = TwoClientConfig();
  PrivsepMessage grant = ValidGrant();
  grant.timeout_ms = 30001;
  CHECK(Refusal(grant, config) ==
        "grant message: timeout 30001 ms, but service ssh opens for 30000 ms");
  grant.timeout_ms = 120000;
  CHECK(Refusal(grant, config) ==
        "grant message: timeout 120000 ms, but service ssh opens for 30000 "
        "ms");
  grant.owner.service = 1;
  grant.timeout_ms = 30000;
  CHECK(Refusal(grant, config) ==
        "grant message: timeout 30000 ms, but service web opens for 120000 "
        "ms");
  grant.timeout_ms = UINT32_MAX;
  CHECK(Refusal(grant, config) ==
        "grant message: timeout 4294967295 ms, but service web opens for "
        "120000 ms");
}

TEST_CASE("messages without an owner pass unchecked", "[privsep]") {
  const knock::ServerConfig config = TwoClientConfig();
  for (PrivsepMessageType type :
       {PrivsepMessageType::kReady, PrivsepMessageType::kReconfigured,
        PrivsepMessageType::kShutdown}) {
    PrivsepMessage message;
    message.type = type;
    message.owner.client = UINT32_MAX;
    message.owner.window = 0;
    CHECK(Passes(message, config));
  }
}

TEST_CASE("a refusal summary is checked for its owner", "[privsep]") {
  const knock::ServerConfig config = TwoClientConfig();
  PrivsepMessage summary = ValidRefusal();
  summary.type = PrivsepMessageType::kRefusalSummary;
  summary.summary.second = kNowSeconds;
  CHECK(Passes(summary, config));
  summary.owner.client = 2;
  CHECK(Refusal(summary, config) == "refusal summary message: client 2 of 2");
  summary.owner.client = 1;
  summary.owner.service = 1;
  CHECK(Refusal(summary, config) ==
        "refusal summary message: client bob may not open service web");
  summary.owner.service = 0;
  summary.owner.slot = 200;
  CHECK(Refusal(summary, config) == "refusal summary message: slot 200 of 4");
}

TEST_CASE("a refusal summary's window is checked against its own second",
          "[privsep]") {
  const knock::ServerConfig config = TwoClientConfig();
  PrivsepMessage summary = ValidRefusal();
  summary.type = PrivsepMessageType::kRefusalSummary;
  // Counted an hour ago (sent late, or before a clock step): the windows of
  // that second pass, though the helper's now is far from them.
  const int64_t second = kNowSeconds - 3600;
  summary.summary.second = second;
  const uint64_t counted = knock::WindowAt(second, kStepSeconds);
  const uint64_t oldest = counted - kSkewWindows - 2;
  const uint64_t newest = counted + kSkewWindows + 1;
  for (uint64_t window = oldest; window <= newest; ++window) {
    summary.owner.window = window;
    CHECK(Passes(summary, config));
  }
  const std::string span = std::to_string(oldest) + "-" +
                           std::to_string(newest) + " around its second " +
                           std::to_string(second);
  summary.owner.window = oldest - 1;
  CHECK(Refusal(summary, config) == "refusal summary message: window " +
                                        std::to_string(oldest - 1) +
                                        " is outside " + span);
  summary.owner.window = newest + 1;
  CHECK(Refusal(summary, config) == "refusal summary message: window " +
                                        std::to_string(newest + 1) +
                                        " is outside " + span);
  // Control: the current window, which a refusal passes with, is refused
  // for a summary of an hour ago.
  summary.owner.window = NowWindow();
  CHECK(Refusal(summary, config)
            .rfind("refusal summary message: window " +
                       std::to_string(NowWindow()) + " is outside ",
                   0) == 0);
  PrivsepMessage refusal = ValidRefusal();
  CHECK(Passes(refusal, config));
  // A second whose microseconds overflow is refused by name.
  summary.summary.second = INT64_MAX / 1000000 + 1;
  CHECK(Refusal(summary, config) ==
        "refusal summary message: second " +
            std::to_string(INT64_MAX / 1000000 + 1));
  summary.summary.second = INT64_MAX / 1000000;
  summary.owner.window = knock::WindowAt(INT64_MAX / 1000000, kStepSeconds);
  CHECK(Passes(summary, config));
}

TEST_CASE("the accepted windows reach skew + 2 behind and skew + 1 ahead",
          "[privsep]") {
  knock::KnockSettings knock;
  knock.step_seconds = kStepSeconds;
  knock.skew = 1;
  const knock::WindowSpan span = knock::AcceptedWindows(kNowUs, knock);
  CHECK(span.oldest == NowWindow() - 3);
  CHECK(span.newest == NowWindow() + 2);
  knock.skew = 0;
  CHECK(knock::AcceptedWindows(kNowUs, knock).oldest == NowWindow() - 2);
  CHECK(knock::AcceptedWindows(kNowUs, knock).newest == NowWindow() + 1);
  // Near the epoch the span starts at window 0.
  knock.skew = 1;
  CHECK(knock::AcceptedWindows(0, knock).oldest == 0);
  CHECK(knock::AcceptedWindows(kStepSeconds * 2 * 1000000, knock).oldest == 0);
  CHECK(knock::AcceptedWindows(kStepSeconds * 4 * 1000000, knock).oldest == 1);
}
