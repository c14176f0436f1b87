#include "knockd/shared/sequence_table.h"

#include <algorithm>
#include <cstring>

#include "common/bound_sequence.h"
#include "knockd/shared/parallel_chunks.h"

namespace knock {

namespace {

// A grant carries at most 64 ports of evidence, and head and tail are
// distinct ports of the range.
bool CheckBoundShape(const SequenceShape& shape, std::string* err) {
  const int ports = shape.count + BoundTailCount(shape.count);
  if (ports <= static_cast<int>(kMaxBoundPorts) &&
      static_cast<uint32_t>(ports) <= shape.range)
    return true;
  *err = "a bound sequence of " + std::to_string(shape.count) +
         " knocks needs " + std::to_string(ports) +
         " distinct ports, more than 64 or than the knock range holds";
  return false;
}

// An X25519 takes tens of microseconds and a sequence about one: below these
// a thread costs more to start than it saves.
constexpr size_t kMinClientsPerThread = 64;
constexpr size_t kMinSequencesPerThread = 4096;

}  // namespace

bool SequenceTable::Init(const ServerConfig& config,
                         const PrivateKey& server_key, std::string* err) {
  const KnockSettings& knock = config.knock;
  range_ = knock.ports;
  shape_ = {knock.ports.first, knock.ports.size(), knock.count};
  count_ = knock.count > 0 ? static_cast<size_t>(knock.count) : 0;
  skew_ = knock.skew > 0 ? static_cast<uint64_t>(knock.skew) : 0;
  service_names_.clear();
  for (const ServiceSettings& service : config.services)
    service_names_.push_back(service.name);

  owners_.clear();
  bool any_bound = false;
  for (uint32_t client = 0; client < config.clients.size(); ++client) {
    for (const std::string& name : config.clients[client].services) {
      for (uint32_t service = 0; service < config.services.size(); ++service) {
        if (config.services[service].name != name) continue;
        for (int slot = 0; slot < knock.slots; ++slot)
          owners_.push_back({client, service, static_cast<uint8_t>(slot)});
        // A bound head is a sequence of its own: only clients that may
        // knock bound cost the table anything.
        if (!AllowsBound(config.clients[client], config.services[service]))
          continue;
        any_bound = true;
        for (int slot = 0; slot < knock.slots; ++slot)
          owners_.push_back(
              {client, service, static_cast<uint8_t>(slot), true});
      }
    }
  }
  // Checked once here, derivation cannot fail later (the stream has 8192
  // draws for at most 64 distinct ports), so no sequence can go missing.
  std::vector<uint16_t> probe(count_);
  for (const std::string& name : service_names_) {
    if (!DeriveSequenceInto(PairKey(), {0, 0, name}, shape_, probe.data(), err))
      return false;
  }
  if (any_bound && !CheckBoundShape(shape_, err)) return false;
  if (!DerivePairKeys(config, server_key, err)) return false;
  keyed_ = true;
  window_count_ = 0;
  ports_.clear();
  // Reserved for the widest table, so that rolling never reallocates.
  ports_.reserve((2 * skew_ + 2 + windows_ahead_) * owners_.size() * count_);
  index_offsets_.clear();
  index_units_.clear();
  rolled_ = false;
  return true;
}

bool SequenceTable::DerivePairKeys(const ServerConfig& config,
                                   const PrivateKey& server_key,
                                   std::string* err) {
  const size_t clients = config.clients.size();
  pair_keys_.assign(clients, PairKey());
  // Each client's verdict in its own slot: the error names the first bad
  // client in configuration order, however the work was split.
  std::vector<std::string> errors(clients);
  std::vector<uint8_t> failed(clients, 0);
  const PublicKey server_public = server_key.Public();
  ParallelChunks(
      clients, threads_, kMinClientsPerThread, [&](size_t begin, size_t end) {
        for (size_t i = begin; i < end; ++i) {
          failed[i] = !DerivePairKey(
              server_key, server_public, config.clients[i].public_key,
              PairRole::kServer, &pair_keys_[i], &errors[i]);
        }
      });
  for (size_t i = 0; i < clients; ++i) {
    if (failed[i]) {
      *err = "client \"" + config.clients[i].name + "\": " + errors[i];
      pair_keys_.clear();
      return false;
    }
  }
  return true;
}

void SequenceTable::DeriveWindows(const std::vector<uint64_t>& windows) {
  const size_t per_window = owners_.size();
  ParallelChunks(
      per_window, threads_,
      kMinSequencesPerThread / std::max<size_t>(windows.size(), 1),
      [&](size_t begin, size_t end) {
        std::string unused_err;
        for (uint64_t window : windows) {
          uint16_t* block =
              ports_.data() + (window - oldest_window_) * per_window * count_;
          for (size_t i = begin; i < end; ++i) {
            const WindowOwner& owner = owners_[i];
            const SequenceId id{window, owner.slot,
                                service_names_[owner.service]};
            if (owner.bound)
              DeriveBoundHeadInto(pair_keys_[owner.client], id, shape_,
                                  block + i * count_, &unused_err);
            else
              DeriveSequenceInto(pair_keys_[owner.client], id, shape_,
                                 block + i * count_, &unused_err);
          }
        }
      });
}

bool SequenceTable::Load(const ServerConfig& config, SequenceTableImage image,
                         std::string* err) {
  const KnockSettings& knock = config.knock;
  auto fail = [err](const std::string& what) {
    *err = "sequence table image: " + what;
    return false;
  };
  if (image.first_port != knock.ports.first ||
      image.range_size != knock.ports.size())
    return fail("range " + std::to_string(image.first_port) + "+" +
                std::to_string(image.range_size) + " is not knock.ports " +
                knock.ports.ToString());
  if (static_cast<int>(image.count) != knock.count)
    return fail("count " + std::to_string(image.count) +
                " is not knock.count " + std::to_string(knock.count));
  if (static_cast<int>(image.skew) != knock.skew)
    return fail("skew " + std::to_string(image.skew) + " is not knock.skew " +
                std::to_string(knock.skew));
  for (const TableImageOwner& owner : image.owners) {
    if (owner.client >= config.clients.size() ||
        owner.service >= config.services.size() || owner.slot >= knock.slots ||
        (owner.bound && !AllowsBound(config.clients[owner.client],
                                     config.services[owner.service])))
      return fail("owner (client " + std::to_string(owner.client) +
                  ", service " + std::to_string(owner.service) + ", slot " +
                  std::to_string(owner.slot) + (owner.bound ? ", bound" : "") +
                  ") is not in the configuration");
  }
  range_ = knock.ports;
  shape_ = {knock.ports.first, knock.ports.size(), knock.count};
  count_ = image.count;
  skew_ = image.skew;
  service_names_.clear();
  pair_keys_.clear();
  keyed_ = false;
  owners_.clear();
  owners_.reserve(image.owners.size());
  for (const TableImageOwner& owner : image.owners)
    owners_.push_back({owner.client, owner.service, owner.slot, owner.bound});
  oldest_window_ = image.oldest_window;
  window_count_ = image.window_count;
  ports_ = std::move(image.ports);
  index_offsets_.clear();
  index_units_.clear();
  rolled_ = false;
  return true;
}

SequenceTableImage SequenceTable::Image() const {
  SequenceTableImage image;
  image.first_port = range_.first;
  image.range_size = range_.size();
  image.count = static_cast<uint32_t>(count_);
  image.skew = static_cast<uint32_t>(skew_);
  image.center_window = current_window_;
  image.oldest_window = oldest_window_;
  image.window_count = static_cast<uint32_t>(window_count_);
  image.owners.reserve(owners_.size());
  for (const WindowOwner& owner : owners_)
    image.owners.push_back(
        {owner.client, owner.service, owner.slot, owner.bound});
  image.ports = ports_;
  return image;
}

bool SequenceTable::Derive(const SequenceOwner& owner, uint16_t* out) const {
  if (!keyed_ || owner.client >= pair_keys_.size() ||
      owner.service >= service_names_.size())
    return false;
  std::string unused_err;
  const SequenceId id{owner.window, owner.slot, service_names_[owner.service]};
  if (owner.bound)
    return DeriveBoundHeadInto(pair_keys_[owner.client], id, shape_, out,
                               &unused_err);
  return DeriveSequenceInto(pair_keys_[owner.client], id, shape_, out,
                            &unused_err);
}

bool SequenceTable::DeriveTail(const SequenceOwner& owner,
                               const IpAddress& bound_to,
                               std::span<const uint16_t> head,
                               std::vector<uint16_t>* tail) const {
  if (!keyed_ || owner.client >= pair_keys_.size() ||
      owner.service >= service_names_.size())
    return false;
  std::string unused_err;
  const SequenceId id{owner.window, owner.slot, service_names_[owner.service]};
  return DeriveBoundTail(pair_keys_[owner.client], id, shape_, bound_to, head,
                         tail, &unused_err);
}

bool SequenceTable::RollTo(uint64_t current_window) {
  if (rolled_ && current_window == current_window_) return false;
  if (!keyed_) {
    // The windows came whole from the helper: only which are live changes.
    current_window_ = current_window;
    rolled_ = true;
    RebuildIndex();
    return true;
  }
  // Windows below zero do not exist; the table simply holds fewer then.
  const uint64_t oldest =
      current_window > skew_ + 1 ? current_window - skew_ - 1 : 0;
  const uint64_t newest = current_window + skew_ + windows_ahead_;
  const size_t block = owners_.size() * count_;
  const size_t windows = newest - oldest + 1;

  // Windows present before and after keep their ports; they only move to
  // their new block.
  const uint64_t had_newest = oldest_window_ + window_count_ - 1;
  const uint64_t keep_first = std::max(oldest, oldest_window_);
  const uint64_t keep_last = std::min(newest, had_newest);
  const bool keep = window_count_ > 0 && keep_first <= keep_last;
  ports_.resize(std::max(ports_.size(), windows * block));
  if (keep) {
    std::memmove(ports_.data() + (keep_first - oldest) * block,
                 ports_.data() + (keep_first - oldest_window_) * block,
                 (keep_last - keep_first + 1) * block * sizeof(uint16_t));
  }
  ports_.resize(windows * block);
  oldest_window_ = oldest;
  window_count_ = windows;

  std::vector<uint64_t> missing;
  for (uint64_t w = oldest; w <= newest; ++w)
    if (!keep || w < keep_first || w > keep_last) missing.push_back(w);
  DeriveWindows(missing);

  current_window_ = current_window;
  rolled_ = true;
  RebuildIndex();
  return true;
}

void SequenceTable::PrefetchOffsets(uint16_t port) const {
  if (!range_.Contains(port) || index_offsets_.empty()) return;
  __builtin_prefetch(&index_offsets_[port - range_.first]);
}

void SequenceTable::PrefetchIds(uint16_t port) const {
  if (!range_.Contains(port) || index_offsets_.empty()) return;
  __builtin_prefetch(index_units_.data() + index_offsets_[port - range_.first]);
}

void SequenceTable::PrefetchPortsWith(uint16_t port) const {
  // A few: a port of a crowded range is in many sequences, and the matcher
  // leaves most after a port or two anyway.
  constexpr int kMaxSequences = 4;
  int left = kMaxSequences;
  for (uint32_t id : SequencesWith(port)) {
    __builtin_prefetch(ports_.data() + size_t{id} * count_);
    if (--left == 0) break;
  }
}

ExpectedSequence SequenceTable::sequence(uint32_t id) const {
  const size_t per_window = owners_.size();
  const WindowOwner& owner = owners_[id % per_window];
  const uint64_t window = oldest_window_ + id / per_window;
  ExpectedSequence result;
  result.owner = {owner.client, owner.service, window, owner.slot, owner.bound};
  result.ports = Ports(id);
  result.expired = window + skew_ < current_window_;
  return result;
}

void SequenceTable::LiveBlocks(size_t* first, size_t* end) const {
  // Live: [current - skew - 1, current + skew], the oldest one only to
  // name late sequences expired.
  const uint64_t live_oldest =
      current_window_ > skew_ + 1 ? current_window_ - skew_ - 1 : 0;
  const uint64_t live_newest = current_window_ + skew_;
  const uint64_t held_newest = oldest_window_ + window_count_;  // exclusive
  const uint64_t from = std::max(live_oldest, oldest_window_);
  const uint64_t to = std::min(live_newest + 1, held_newest);
  if (window_count_ == 0 || from >= to) {
    *first = *end = 0;
    return;
  }
  *first = from - oldest_window_;
  *end = to - oldest_window_;
}

void SequenceTable::RebuildIndex() {
  // Two passes over the ports in id order, so every port's ids come
  // ascending: the first sizes each port's encoded list, the second writes.
  const uint32_t range_size = range_.size();
  if (!indexed_) {
    index_offsets_.assign(range_size + 1, 0);
    index_units_.clear();
    return;
  }
  size_t first_block = 0;
  size_t end_block = 0;
  LiveBlocks(&first_block, &end_block);
  const auto first_id = static_cast<uint32_t>(first_block * owners_.size());
  const auto sequences = static_cast<uint32_t>(end_block * owners_.size());
  std::vector<uint32_t> previous(range_size, 0);
  index_offsets_.assign(range_size + 1, 0);
  const uint16_t* port = ports_.data() + size_t{first_id} * count_;
  for (uint32_t id = first_id; id < sequences; ++id) {
    for (size_t k = 0; k < count_; ++k, ++port) {
      const uint32_t i = *port - range_.first;
      index_offsets_[i + 1] += EncodeSequenceId(previous[i], id, nullptr);
      previous[i] = id;
    }
  }
  for (uint32_t i = 0; i < range_size; ++i)
    index_offsets_[i + 1] += index_offsets_[i];
  const size_t units = index_offsets_[range_size];
  // Rolls vary the size by a few escapes; a little room now keeps resize
  // from doubling the capacity later.
  if (units > index_units_.capacity()) index_units_.reserve(units + units / 64);
  index_units_.resize(units);
  std::vector<uint32_t> fill(index_offsets_.begin(), index_offsets_.end() - 1);
  previous.assign(range_size, 0);
  port = ports_.data() + size_t{first_id} * count_;
  for (uint32_t id = first_id; id < sequences; ++id) {
    for (size_t k = 0; k < count_; ++k, ++port) {
      const uint32_t i = *port - range_.first;
      fill[i] += EncodeSequenceId(previous[i], id, &index_units_[fill[i]]);
      previous[i] = id;
    }
  }
}

size_t SequenceTable::MemoryBytes() const {
  return ports_.capacity() * sizeof(uint16_t) +
         index_offsets_.capacity() * sizeof(uint32_t) +
         index_units_.capacity() * sizeof(uint16_t) +
         owners_.capacity() * sizeof(WindowOwner) +
         pair_keys_.capacity() * sizeof(PairKey);
}

}  // namespace knock
