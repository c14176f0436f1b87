#include "knockd/helper/nftables_grant_listing.h"

#include <nftables/libnftables.h>

#include <nlohmann/json.hpp>

#include "knockd/helper/nftables_firewall.h"

namespace knock {

namespace {

constexpr int64_t kMillisPerSecond = 1000;

// One element's value: [address, "tcp"|"udp", port].
bool ElementGrant(const nlohmann::json& element, Grant* grant) {
  const nlohmann::json& value = element["val"]["concat"];
  if (!value.is_array() || value.size() != 3 || !value[0].is_string() ||
      !value[1].is_string() || !value[2].is_number_unsigned())
    return false;
  ServicePort port;
  std::string err;
  const std::string text = value[1].get<std::string>() + "/" +
                           std::to_string(value[2].get<uint64_t>());
  if (!ParseServicePort(text, &port, &err) ||
      !IpAddress::Parse(value[0].get<std::string>(), &grant->source, &err))
    return false;
  grant->ports = {port};
  grant->client = "earlier run";
  grant->service = text;
  grant->timeout_ms = element.value("expires", int64_t{0}) * kMillisPerSecond;
  return true;
}

}  // namespace

bool ParseNftablesGrantListing(const std::string& json_text,
                               std::vector<Grant>* grants, std::string* err) {
  const nlohmann::json listing =
      nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (listing.is_discarded() || !listing.contains("nftables") ||
      !listing["nftables"].is_array()) {
    *err = "nftables: not a JSON listing";
    return false;
  }
  for (const nlohmann::json& object : listing["nftables"]) {
    if (!object.contains("set") || !object["set"].contains("elem")) continue;
    for (const nlohmann::json& item : object["set"]["elem"]) {
      // An element without a timeout is listed bare; it never expires and
      // is nothing the daemon granted.
      if (!item.is_object() || !item.contains("elem")) continue;
      Grant grant;
      if (!ElementGrant(item["elem"], &grant)) {
        *err = "nftables: an allowed element is not address . proto . port (" +
               item.dump() + ")";
        return false;
      }
      if (grant.timeout_ms > 0) grants->push_back(std::move(grant));
    }
  }
  return true;
}

bool ListNftablesGrants(const std::string& table, std::vector<Grant>* grants,
                        std::string* err) {
  if (!CheckNftablesTableName(table, err)) return false;
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (ctx == nullptr) {
    *err = "nftables: cannot create a libnftables context";
    return false;
  }
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
  bool ok = true;
  for (const char* set : {"allowed4", "allowed6"}) {
    const std::string command = "list set inet " + table + " " + set;
    if (nft_run_cmd_from_buffer(ctx, command.c_str()) != 0) {
      // No table (a first start), or no such set: nothing was granted.
      nft_ctx_get_output_buffer(ctx);
      nft_ctx_get_error_buffer(ctx);
      continue;
    }
    if (!ParseNftablesGrantListing(nft_ctx_get_output_buffer(ctx), grants,
                                   err)) {
      ok = false;
      break;
    }
  }
  nft_ctx_free(ctx);
  return ok;
}

}  // namespace knock
