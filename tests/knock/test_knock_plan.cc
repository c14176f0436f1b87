// Choosing the sequence to send: window, slot from the state file, ports.
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "knock/lib/knock_plan.h"
#include "portable_test_support.h"

namespace {

// The second shared vector: window 58000000, slot 3.
constexpr char kClientPrivate[] =
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr char kServerPublic[] = "NYBy1jZYgNGu6jKa35EhODhR7SGijjt16WXQ0s0WYlQ=";
const std::vector<uint16_t> kSlot3Ports = {42117, 44694, 41297, 41733,
                                           46920, 43375, 48437, 53528};
constexpr int64_t kAtUnix = 58000000LL * 30 + 5;

knock::PlanRequest Request(const knock::ServerEntry* server,
                           const std::string& state_path) {
  knock::PlanRequest request;
  request.server = server;
  request.service = "ssh";
  knock::PrivateKey own;
  std::string err;
  REQUIRE(knock::PrivateKey::FromText(kClientPrivate, &own, &err));
  REQUIRE(knock::DerivePairKey(own, server->public_key,
                               knock::PairRole::kClient, &request.pair_key,
                               &err));
  request.at_unix = kAtUnix;
  request.now_unix = kAtUnix;
  request.state_path = state_path;
  return request;
}

}  // namespace

TEST_CASE("a plan follows the state file and reproduces the vectors",
          "[knock_plan]") {
  char pattern[] = "/tmp/knock-plan-test-XXXXXX";
  const char* dir = mkdtemp(pattern);
  REQUIRE(dir != nullptr);
  const std::string base = dir;
  const std::string state = base + "/used";
  knock::ServerEntry server;
  server.name = "bastion";
  server.ports = {40000, 56383};
  std::string err;
  REQUIRE(knock::ParsePublicKey(kServerPublic, &server.public_key, &err));

  knock::PlanRequest request = Request(&server, state);
  request.pinned_slot = 3;
  request.record = false;
  knock::KnockPlan plan;
  REQUIRE(knock::MakeKnockPlan(request, &plan, &err));
  CHECK(plan.window == 58000000);
  CHECK(plan.slot == 3);
  CHECK(plan.ports == kSlot3Ports);
  CHECK_FALSE(std::filesystem::exists(state));

  request.pinned_slot.reset();
  REQUIRE(knock::MakeKnockPlan(request, &plan, &err));  // a dry run: slot 0
  CHECK(plan.slot == 0);
  request.record = true;
  REQUIRE(knock::MakeKnockPlan(request, &plan, &err));
  CHECK(plan.slot == 0);
  const std::vector<uint16_t> slot0 = plan.ports;
  REQUIRE(knock::MakeKnockPlan(request, &plan, &err));
  CHECK(plan.slot == 1);
  CHECK(plan.ports != slot0);
  request.pinned_slot = 3;
  REQUIRE(knock::MakeKnockPlan(request, &plan, &err));
  CHECK(plan.ports == kSlot3Ports);
  request.pinned_slot.reset();
  REQUIRE(knock::MakeKnockPlan(request, &plan, &err));
  CHECK(plan.slot == 2);
  CHECK_FALSE(knock::MakeKnockPlan(request, &plan, &err));
  CHECK(err ==
        "all 4 slots of this 30s window are used for bastion/ssh; wait 25s");
  std::filesystem::remove_all(base);
}
