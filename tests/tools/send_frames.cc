// send_frames: puts raw Ethernet frames on a link through an AF_PACKET
// socket: the fuzz corpora's malformed packets, every truncation of each,
// and seeded random mutations of them. The end-to-end privilege separation
// test floods knockd with them.
//
//   send_frames IFACE DEST_MAC SEED_DIR [--mutations N] [--seed S]
//
// A seed file is a fuzz_packet_decoder input: its first byte picks a link
// type, the rest is the frame. Ethernet frames are sent as they are (with
// the destination rewritten to DEST_MAC); the others get an Ethernet header
// in front so that their bytes still reach the decoder. Prints the number
// of frames sent.

#include <arpa/inet.h>
#include <dirent.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace {

using Bytes = std::vector<uint8_t>;

constexpr size_t kEthernetHeaderBytes = 14;
constexpr size_t kMaxFrameBytes = 1514;

bool ParseMac(const char* text, uint8_t mac[6]) {
  unsigned v[6];
  if (sscanf(text, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4],
             &v[5]) != 6)
    return false;
  for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(v[i]);
  return true;
}

std::vector<Bytes> ReadSeeds(const std::string& dir, const uint8_t mac[6]) {
  std::vector<Bytes> frames;
  DIR* listing = opendir(dir.c_str());
  if (!listing) return frames;
  while (dirent* entry = readdir(listing)) {
    if (entry->d_name[0] == '.') continue;
    std::ifstream in(dir + "/" + entry->d_name, std::ios::binary);
    Bytes seed((std::istreambuf_iterator<char>(in)),
               std::istreambuf_iterator<char>());
    if (seed.size() < 2) continue;
    Bytes frame;
    if (seed[0] % 9 == 0 && seed.size() > kEthernetHeaderBytes) {
      frame.assign(seed.begin() + 1, seed.end());
    } else {
      // Another link type's bytes behind an Ethernet header; the payload's
      // first nibble picks the EtherType so that IP parsing is reached.
      frame.assign(kEthernetHeaderBytes, 0);
      const bool v6 = (seed[1] >> 4) == 6;
      frame[12] = v6 ? 0x86 : 0x08;
      frame[13] = v6 ? 0xdd : 0x00;
      frame.insert(frame.end(), seed.begin() + 1, seed.end());
    }
    memcpy(frame.data(), mac, 6);
    frames.push_back(frame);
  }
  closedir(listing);
  return frames;
}

Bytes Mutate(const Bytes& seed, std::mt19937* random) {
  Bytes frame = seed;
  const int edits = 1 + (*random)() % 8;
  for (int i = 0; i < edits; ++i) {
    const size_t at = kEthernetHeaderBytes / 2 +
                      (*random)() % (frame.size() - kEthernetHeaderBytes / 2);
    switch ((*random)() % 4) {
      case 0:  // a flipped bit
        frame[at] ^= static_cast<uint8_t>(1u << ((*random)() % 8));
        break;
      case 1:  // a random byte
        frame[at] = static_cast<uint8_t>((*random)());
        break;
      case 2:  // cut short
        frame.resize(std::max(at, kEthernetHeaderBytes));
        break;
      default:  // random bytes appended
        for (int n = (*random)() % 64; n > 0 && frame.size() < kMaxFrameBytes;
             --n)
          frame.push_back(static_cast<uint8_t>((*random)()));
    }
  }
  return frame;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr,
            "usage: send_frames IFACE DEST_MAC SEED_DIR [--mutations N] "
            "[--seed S]\n");
    return 2;
  }
  long mutations = 1000;
  unsigned seed = 1;
  for (int i = 4; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--mutations") == 0) mutations = atol(argv[i + 1]);
    if (strcmp(argv[i], "--seed") == 0) seed = atoi(argv[i + 1]);
  }
  uint8_t mac[6];
  if (!ParseMac(argv[2], mac)) {
    fprintf(stderr, "send_frames: not a MAC address: %s\n", argv[2]);
    return 2;
  }
  const std::vector<Bytes> seeds = ReadSeeds(argv[3], mac);
  if (seeds.empty()) {
    fprintf(stderr, "send_frames: no seeds in %s\n", argv[3]);
    return 1;
  }
  const int fd = socket(AF_PACKET, SOCK_RAW, 0);
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = static_cast<int>(if_nametoindex(argv[1]));
  to.sll_halen = 6;
  memcpy(to.sll_addr, mac, 6);
  if (fd < 0 || to.sll_ifindex == 0) {
    perror("send_frames");
    return 1;
  }
  long sent = 0;
  auto send_one = [&](const Bytes& frame) {
    if (sendto(fd, frame.data(), frame.size(), 0,
               reinterpret_cast<sockaddr*>(&to), sizeof to) >= 0)
      ++sent;
  };
  std::mt19937 random(seed);
  for (const Bytes& frame : seeds) {
    // Every truncation, down to a bare Ethernet header.
    for (size_t length = frame.size(); length >= kEthernetHeaderBytes; --length)
      send_one(Bytes(frame.begin(), frame.begin() + length));
    for (long i = 0; i < mutations; ++i) send_one(Mutate(frame, &random));
  }
  close(fd);
  printf("%ld\n", sent);
  return 0;
}
