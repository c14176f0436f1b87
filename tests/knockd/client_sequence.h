#pragma once
// What a client sends, for the daemon's unit tests.

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common/knock_sequence.h"
#include "common/pair_key.h"
#include "common/x25519_key.h"

/// The ports `client` knocks at `server` for `id`, derived on the client's
/// side as `knock` derives them, in the knock range the daemon's unit tests
/// configure (16384-32767, 8 knocks). The tests hold the daemon's side to
/// these.
inline std::vector<uint16_t> ClientSequence(const knock::PrivateKey& client,
                                            const knock::PublicKey& server,
                                            const knock::SequenceId& id) {
  knock::PairKey key;
  std::string err;
  REQUIRE(knock::DerivePairKey(client, server, knock::PairRole::kClient, &key,
                               &err));
  std::vector<uint16_t> ports;
  REQUIRE(knock::DeriveSequence(key, id, {16384, 16384, 8}, &ports, &err));
  return ports;
}
