#include "knockd/helper/nftables_firewall.h"

#include <nftables/libnftables.h>

#include <algorithm>
#include <cctype>
#include <utility>

namespace knock {

namespace {

// Prerouting before destination NAT (dstnat is -100): a service that DNAT
// forwards elsewhere (Docker's -p, a VM's port forward) is matched by the
// port the client asked for, before it is rewritten, and so is hidden like
// a local one. A drop in any base chain is final whatever the other tables
// accept, so this chain needs no precedence over theirs.
constexpr char kChainName[] = "prerouting";
constexpr char kChainHook[] =
    "type filter hook prerouting priority dstnat - 10; policy accept;";
// Earlier versions hooked input with a chain of this name.
constexpr char kOldChainName[] = "input";
constexpr size_t kMaxTableNameBytes = 64;

std::vector<ServicePort> Deduplicated(const std::vector<ServicePort>& ports) {
  std::vector<ServicePort> unique;
  for (const ServicePort& port : ports) {
    if (std::find(unique.begin(), unique.end(), port) == unique.end()) {
      unique.push_back(port);
    }
  }
  return unique;
}

std::string ProtoPort(const ServicePort& port) {
  return std::string(TransportName(port.transport)) + " . " +
         std::to_string(port.port);
}

// "{ e1, e2 }" where each element is `prefix` + proto . port + `suffix`.
std::string Elements(const std::vector<ServicePort>& ports,
                     const std::string& prefix, const std::string& suffix) {
  std::string text = "{ ";
  for (size_t i = 0; i < ports.size(); ++i) {
    if (i > 0) text += ", ";
    text += prefix + ProtoPort(ports[i]) + suffix;
  }
  return text + " }";
}

std::string SetupRules(const std::string& chain, const FirewallLayout& layout) {
  const std::string protected_dport = "meta l4proto . th dport @protected ";
  std::string text;
  // Local traffic never comes from the network; letting it through keeps
  // the host's own clients (a resolver on udp/53, ssh to localhost) working.
  text += "add rule " + chain + " iif lo accept\n";
  text += "add rule " + chain + " ct state established,related accept\n";
  // Prerouting also sees traffic this host routes for others; only what is
  // addressed to this host (before any DNAT) is ours to hide.
  text += "add rule " + chain + " fib daddr type != local accept\n";
  text += "add rule " + chain + " " + protected_dport +
          "ip saddr . meta l4proto . th dport @allowed4 accept\n";
  text += "add rule " + chain + " " + protected_dport +
          "ip6 saddr . meta l4proto . th dport @allowed6 accept\n";
  text += "add rule " + chain + " " + protected_dport + "drop\n";
  // Established and related flows were accepted above, so these drop only
  // new (and invalid) flows: silently, so a knock gets no answer. Both
  // transports whatever the knock protocol: a UDP probe of a TCP-only range
  // must not draw an ICMP unreachable that maps the range either.
  const std::string range = layout.knock_range.ToString();
  text += "add rule " + chain + " tcp dport " + range + " drop\n";
  text += "add rule " + chain + " udp dport " + range + " drop\n";
  return text;
}

// The first line of nft's message ("Error: ...") and the command it
// points at, on one line.
std::string OneLine(const std::string& text) {
  std::string first, second;
  size_t end = text.find('\n');
  first = text.substr(0, end);
  if (end != std::string::npos) {
    size_t next = text.find('\n', end + 1);
    second = text.substr(end + 1, next == std::string::npos ? std::string::npos
                                                            : next - end - 1);
  }
  if (first.empty()) first = "unknown error";
  if (second.empty()) return first;
  return first + " (in \"" + second + "\")";
}

}  // namespace

std::string NftablesSetupBatch(const std::string& table,
                               const FirewallLayout& layout) {
  const std::string t = "inet " + table;
  const std::string chain = t + " " + kChainName;
  const std::string old_chain = t + " " + kOldChainName;
  std::string text;
  text += "add table " + t + "\n";
  // An upgrade from the input hook: the old chain goes in the same
  // transaction as the new one comes.
  text += "add chain " + old_chain + "\n";
  text += "flush chain " + old_chain + "\n";
  text += "delete chain " + old_chain + "\n";
  // `add set` is a no-op for an existing set: live grants stay.
  text += "add set " + t +
          " allowed4 { type ipv4_addr . inet_proto . inet_service; flags "
          "timeout; }\n";
  text += "add set " + t +
          " allowed6 { type ipv6_addr . inet_proto . inet_service; flags "
          "timeout; }\n";
  text += "add set " + t + " protected { type inet_proto . inet_service; }\n";
  text += "add chain " + chain + " { " + kChainHook + " }\n";
  text += "flush chain " + chain + "\n";
  text += "flush set " + t + " protected\n";
  const std::vector<ServicePort> ports = Deduplicated(layout.protected_ports);
  if (!ports.empty()) {
    text += "add element " + t + " protected " + Elements(ports, "", "") + "\n";
  }
  return text + SetupRules(chain, layout);
}

std::string NftablesGrantBatch(const std::string& table, const Grant& grant) {
  const std::vector<ServicePort> ports = Deduplicated(grant.ports);
  if (ports.empty()) return "";
  const std::string set =
      "inet " + table + (grant.source.is_v4() ? " allowed4 " : " allowed6 ");
  const std::string source = grant.source.ToString() + " . ";
  const int64_t timeout_ms = std::max<int64_t>(grant.timeout_ms, 1);
  const std::string timeout = " timeout " + std::to_string(timeout_ms) + "ms";
  // Adding an existing element does not reset its timeout on every kernel;
  // deleting and re-adding in one transaction does, and the hole is never
  // seen closed because the transaction is atomic.
  const std::string bare = Elements(ports, source, "");
  std::string text;
  text += "add element " + set + bare + "\n";
  text += "delete element " + set + bare + "\n";
  text += "add element " + set + Elements(ports, source, timeout) + "\n";
  return text;
}

std::string NftablesFlushBatch(const std::string& table) {
  // nft 1.0.6 has no `destroy`; adding first makes the delete always valid.
  return "add table inet " + table + "\ndelete table inet " + table + "\n";
}

bool CheckNftablesTableName(const std::string& table, std::string* err) {
  bool ok = !table.empty() && table.size() <= kMaxTableNameBytes &&
            std::isalpha(static_cast<unsigned char>(table[0]));
  for (char c : table) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  }
  if (!ok) {
    *err = "not an nftables table name \"" + table +
           "\" (use letters, digits and _, starting with a letter)";
  }
  return ok;
}

NftablesFirewall::NftablesFirewall(std::string table)
    : table_(std::move(table)) {}

NftablesFirewall::~NftablesFirewall() {
  if (ctx_ != nullptr) nft_ctx_free(ctx_);
}

bool NftablesFirewall::Run(const std::string& batch, std::string* err) {
  if (ctx_ == nullptr) {
    ctx_ = nft_ctx_new(NFT_CTX_DEFAULT);
    if (ctx_ == nullptr) {
      *err = "nftables: cannot create a libnftables context";
      return false;
    }
    // Captured so that messages come back as values, not on our stderr.
    nft_ctx_buffer_output(ctx_);
    nft_ctx_buffer_error(ctx_);
  }
  const int rc = nft_run_cmd_from_buffer(ctx_, batch.c_str());
  // Reading a buffer rewinds it; read both every time so that warnings of
  // one call never show up in the next call's error.
  nft_ctx_get_output_buffer(ctx_);
  const char* error_buffer = nft_ctx_get_error_buffer(ctx_);
  const std::string message = error_buffer ? error_buffer : "";
  if (rc != 0) {
    *err = "nftables: " + OneLine(message);
    return false;
  }
  return true;
}

bool NftablesFirewall::Setup(const FirewallLayout& layout, std::string* err) {
  if (!CheckNftablesTableName(table_, err)) return false;
  return Run(NftablesSetupBatch(table_, layout), err);
}

bool NftablesFirewall::Open(const Grant& grant, std::string* err) {
  if (!CheckNftablesTableName(table_, err)) return false;
  const std::string batch = NftablesGrantBatch(table_, grant);
  if (batch.empty()) return true;
  return Run(batch, err);
}

bool NftablesFirewall::Flush(std::string* err) {
  if (!CheckNftablesTableName(table_, err)) return false;
  return Run(NftablesFlushBatch(table_), err);
}

}  // namespace knock
