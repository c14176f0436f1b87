#include "common/sequence_table.h"

namespace knock {

bool SequenceTable::Init(const ServerConfig& config,
                         const PrivateKey& server_key, std::string* err) {
  const KnockSettings& knock = config.knock;
  range_ = knock.ports;
  shape_ = {knock.ports.first, knock.ports.size(), knock.count};
  skew_ = knock.skew;
  slots_ = knock.slots;
  service_names_.clear();
  for (const ServiceSettings& service : config.services)
    service_names_.push_back(service.name);

  client_services_.clear();
  pair_keys_.clear();
  pair_keys_.reserve(config.clients.size());
  for (const ClientSettings& client : config.clients) {
    std::vector<uint32_t> allowed;
    for (const std::string& name : client.services) {
      for (uint32_t i = 0; i < config.services.size(); ++i)
        if (config.services[i].name == name) allowed.push_back(i);
    }
    client_services_.push_back(std::move(allowed));
    PairKey key;
    if (!DerivePairKey(server_key, client.public_key, PairRole::kServer, &key,
                       err)) {
      *err = "client \"" + client.name + "\": " + *err;
      return false;
    }
    pair_keys_.push_back(key);
  }
  windows_.clear();
  flat_.clear();
  rolled_ = false;
  return true;
}

SequenceTable::WindowSequences SequenceTable::DeriveWindow(
    uint64_t window) const {
  WindowSequences result;
  result.window = window;
  std::string unused_err;
  for (uint32_t client = 0; client < pair_keys_.size(); ++client) {
    for (uint32_t service : client_services_[client]) {
      for (int slot = 0; slot < slots_; ++slot) {
        ExpectedSequence expected;
        expected.owner = {client, service, window, static_cast<uint8_t>(slot)};
        SequenceId id{window, static_cast<uint8_t>(slot),
                      service_names_[service]};
        // The configuration was validated, so derivation cannot fail here.
        if (DeriveSequence(pair_keys_[client], id, shape_, &expected.ports,
                           &unused_err))
          result.sequences.push_back(std::move(expected));
      }
    }
  }
  return result;
}

bool SequenceTable::RollTo(uint64_t current_window) {
  if (rolled_ && current_window == current_window_) return false;
  // Windows below zero do not exist; the table simply holds fewer then.
  const uint64_t oldest = current_window > static_cast<uint64_t>(skew_ + 1)
                              ? current_window - skew_ - 1
                              : 0;
  const uint64_t newest = current_window + skew_;
  while (!windows_.empty() && windows_.front().window < oldest)
    windows_.pop_front();
  while (!windows_.empty() && windows_.back().window > newest)
    windows_.pop_back();
  if (windows_.empty() || windows_.front().window > newest ||
      windows_.back().window < oldest) {
    windows_.clear();
  }
  // Fill in front and behind what survived.
  uint64_t first_kept = windows_.empty() ? newest + 1 : windows_.front().window;
  for (uint64_t w = first_kept; w-- > oldest;)
    windows_.push_front(DeriveWindow(w));
  uint64_t next = windows_.empty() ? oldest : windows_.back().window + 1;
  for (uint64_t w = next; w <= newest; ++w) windows_.push_back(DeriveWindow(w));

  for (WindowSequences& ws : windows_) {
    const bool expired = ws.window + skew_ < current_window;
    for (ExpectedSequence& s : ws.sequences) s.expired = expired;
  }
  current_window_ = current_window;
  rolled_ = true;
  RebuildIndex();
  return true;
}

void SequenceTable::RebuildIndex() {
  flat_.clear();
  for (const WindowSequences& ws : windows_)
    for (const ExpectedSequence& s : ws.sequences) flat_.push_back(&s);

  // A counting sort by port: offsets first, then ids into place.
  const uint32_t range_size = range_.size();
  index_offsets_.assign(range_size + 1, 0);
  for (const ExpectedSequence* s : flat_)
    for (uint16_t port : s->ports) ++index_offsets_[port - range_.first + 1];
  for (uint32_t i = 0; i < range_size; ++i)
    index_offsets_[i + 1] += index_offsets_[i];
  index_ids_.assign(index_offsets_[range_size], 0);
  std::vector<uint32_t> fill(index_offsets_.begin(), index_offsets_.end() - 1);
  for (uint32_t id = 0; id < flat_.size(); ++id)
    for (uint16_t port : flat_[id]->ports)
      index_ids_[fill[port - range_.first]++] = id;
}

}  // namespace knock
