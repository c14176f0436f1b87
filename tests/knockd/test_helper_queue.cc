// HelperQueue: grants before refusals, refusals summed per owner and second,
// every part bounded, and a full channel never waited on.
#include <catch2/catch.hpp>
#include <span>
#include <string>
#include <vector>

#include "knockd/sniffer/helper_queue.h"

namespace {

using knock::HelperQueue;
using knock::PrivsepMessageType;
using knock::SendResult;

constexpr int64_t kSecondUs = 1000000;
constexpr int64_t kT0Us = int64_t{1800000000} * kSecondUs;
// The evidence a grant carries: the ports of its sequence.
constexpr uint16_t kPortValues[8] = {20001, 20002, 20003, 20004,
                                     20005, 20006, 20007, 20008};
const std::span<const uint16_t> kPorts(kPortValues);

knock::IpAddress V4(uint32_t n) {
  const uint8_t bytes[4] = {198, 19, uint8_t(n >> 8), uint8_t(n)};
  return knock::IpAddress::V4(bytes);
}

knock::MatchEvent Replay(uint32_t source, uint8_t slot = 0) {
  knock::MatchEvent match;
  match.verdict = knock::Verdict::kReplay;
  match.source = V4(source);
  match.first_source = V4(0xffff);
  match.owner = {1, 0, 60000000, slot};
  return match;
}

/// A channel stand-in: takes up to `room` messages, then reports full.
struct FakeChannel {
  size_t room = SIZE_MAX;
  std::vector<std::vector<uint8_t>> sent;
  HelperQueue::SendFn Fn() {
    return [this](const std::vector<uint8_t>& message) {
      if (sent.size() >= room) return SendResult::kFull;
      sent.push_back(message);
      return SendResult::kSent;
    };
  }
};

knock::PrivsepMessage Decode(const std::vector<uint8_t>& bytes) {
  knock::PrivsepMessage message;
  std::string err;
  INFO(err);
  REQUIRE(
      knock::DecodeSnifferMessage(bytes.data(), bytes.size(), &message, &err));
  return message;
}

}  // namespace

TEST_CASE("a replay flood becomes one summary per owner and second",
          "[queue]") {
  HelperQueue queue;
  for (uint32_t i = 0; i < 16000; ++i)
    queue.AddRefusal(Replay(i % 2000), kT0Us + i * 50);  // 0.8 s of flood
  CHECK(queue.summary_count() == 1);
  FakeChannel channel;
  // Not before its second is over.
  REQUIRE(queue.Flush(kT0Us + 900000, false, channel.Fn()));
  CHECK(channel.sent.empty());
  CHECK_FALSE(queue.HasWaiting(kT0Us + 900000));
  CHECK(queue.HasWaiting(kT0Us + kSecondUs));
  REQUIRE(queue.Flush(kT0Us + kSecondUs, false, channel.Fn()));
  REQUIRE(channel.sent.size() == 1);
  const knock::PrivsepMessage message = Decode(channel.sent[0]);
  CHECK(message.type == PrivsepMessageType::kRefusalSummary);
  CHECK(message.summary.count == 16000);
  CHECK(message.summary.sources == HelperQueue::kMaxCountedSources);
  CHECK(message.summary.sources_capped);
  CHECK(message.summary.addresses ==
        std::vector<knock::IpAddress>{V4(0), V4(1), V4(2), V4(3)});
  CHECK(message.summary.first_source == V4(0xffff));
  CHECK(message.summary.second == kT0Us / kSecondUs);
  CHECK(queue.summary_count() == 0);
  CHECK(queue.stats().refusals == 16000);
  CHECK(queue.stats().summaries_sent == 1);
}

TEST_CASE("a summary counts distinct sources exactly below its bound",
          "[queue]") {
  HelperQueue queue;
  for (int round = 0; round < 3; ++round)
    for (uint32_t i = 0; i < 100; ++i) queue.AddRefusal(Replay(i), kT0Us);
  FakeChannel channel;
  REQUIRE(queue.Flush(kT0Us, true, channel.Fn()));
  REQUIRE(channel.sent.size() == 1);
  const knock::PrivsepMessage message = Decode(channel.sent[0]);
  CHECK(message.summary.count == 300);
  CHECK(message.summary.sources == 100);
  CHECK_FALSE(message.summary.sources_capped);
}

TEST_CASE("owners, verdicts and seconds each get their summary", "[queue]") {
  HelperQueue queue;
  queue.AddRefusal(Replay(1, 0), kT0Us);
  queue.AddRefusal(Replay(1, 1), kT0Us);
  queue.AddRefusal(Replay(1, 0), kT0Us + kSecondUs);
  knock::MatchEvent expired = Replay(1, 0);
  expired.verdict = knock::Verdict::kExpiredWindow;
  queue.AddRefusal(expired, kT0Us);
  CHECK(queue.summary_count() == 4);
  FakeChannel channel;
  REQUIRE(queue.Flush(kT0Us + kSecondUs, false, channel.Fn()));
  CHECK(channel.sent.size() == 3);
  CHECK(queue.summary_count() == 1);
  CHECK(Decode(channel.sent[2]).summary.verdict ==
        knock::Verdict::kExpiredWindow);
}

TEST_CASE("grants go out before summaries, in order", "[queue]") {
  HelperQueue queue;
  queue.AddRefusal(Replay(1), kT0Us);
  const knock::SequenceOwner owner{0, 0, 60000000, 2};
  REQUIRE(queue.PushUrgent(knock::EncodeGrant(V4(7), owner, 30000, kPorts)));
  REQUIRE(queue.PushUrgent(knock::EncodeGrant(V4(8), owner, 30000, kPorts)));
  FakeChannel channel;
  REQUIRE(queue.Flush(kT0Us + kSecondUs, false, channel.Fn()));
  REQUIRE(channel.sent.size() == 3);
  CHECK(Decode(channel.sent[0]).source == V4(7));
  CHECK(Decode(channel.sent[1]).source == V4(8));
  CHECK(Decode(channel.sent[2]).type == PrivsepMessageType::kRefusalSummary);
}

TEST_CASE("a full channel is never waited on; what waits goes later",
          "[queue]") {
  HelperQueue queue;
  const knock::SequenceOwner owner{0, 0, 60000000, 2};
  for (int i = 0; i < 5; ++i)
    REQUIRE(queue.PushUrgent(knock::EncodeGrant(V4(i), owner, 30000, kPorts)));
  FakeChannel channel;
  channel.room = 2;
  REQUIRE(queue.Flush(kT0Us, false, channel.Fn()));
  CHECK(channel.sent.size() == 2);
  CHECK(queue.urgent_size() == 3);
  channel.room = 10;
  REQUIRE(queue.Flush(kT0Us, false, channel.Fn()));
  CHECK(channel.sent.size() == 5);
  CHECK(Decode(channel.sent[4]).source == V4(4));
}

TEST_CASE("a failing channel stops the flush and says so", "[queue]") {
  HelperQueue queue;
  REQUIRE(queue.PushUrgent(knock::EncodeReady()));
  CHECK_FALSE(queue.Flush(kT0Us, false, [](const std::vector<uint8_t>&) {
    return SendResult::kError;
  }));
  CHECK(queue.urgent_size() == 1);
}

TEST_CASE("the queue is bounded whatever arrives, and counts what it drops",
          "[queue]") {
  HelperQueue queue;
  // A flood of refusals over more owners than summaries fit, and a stuck
  // helper: nothing is ever sent.
  for (uint32_t i = 0; i < 100000; ++i) {
    knock::MatchEvent match = Replay(i);
    match.owner.window += i % 1000;
    queue.AddRefusal(match, kT0Us);
  }
  CHECK(queue.summary_count() == HelperQueue::kMaxSummaries);
  CHECK(queue.stats().refusals_dropped > 0);
  CHECK(queue.stats().refusals + queue.stats().refusals_dropped == 100000);
  const knock::SequenceOwner owner{0, 0, 60000000, 2};
  for (size_t i = 0; i < HelperQueue::kMaxUrgent; ++i)
    REQUIRE(queue.PushUrgent(knock::EncodeGrant(V4(1), owner, 30000, kPorts)));
  CHECK_FALSE(
      queue.PushUrgent(knock::EncodeGrant(V4(1), owner, 30000, kPorts)));
  CHECK(queue.urgent_size() == HelperQueue::kMaxUrgent);
  CHECK(queue.stats().urgent_dropped == 1);
}
