#include "knockd/helper/no_firewall.h"

namespace knock {

bool NoFirewall::Setup(const FirewallLayout& layout, std::string* err) {
  (void)layout;
  (void)err;
  ++setups_;
  return true;
}

bool NoFirewall::Open(const Grant& grant, std::string* err) {
  (void)err;
  ++grants_;
  ports_opened_ += static_cast<int>(grant.ports.size());
  return true;
}

bool NoFirewall::Flush(std::string* err) {
  (void)err;
  ++flushes_;
  return true;
}

}  // namespace knock
