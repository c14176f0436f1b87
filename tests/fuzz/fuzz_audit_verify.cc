// libFuzzer target: the audit verifier (`knockd audit --verify`) on hostile
// logs. The first 32 bytes are k_0; the rest is split at form feeds into up
// to four files in chain order, so that rotation, truncation and reordering
// across files are reachable. A forged log must be refused with a message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "knockd/audit/audit_verify.h"

namespace {

constexpr size_t kMaxFiles = 4;

std::vector<knock::AuditFile> SplitFiles(std::string_view text) {
  std::vector<knock::AuditFile> files;
  while (files.size() + 1 < kMaxFiles) {
    size_t form_feed = text.find('\f');
    if (form_feed == std::string_view::npos) break;
    files.push_back({"audit.log." + std::to_string(files.size()),
                     std::string(text.substr(0, form_feed))});
    text.remove_prefix(form_feed + 1);
  }
  files.push_back({"audit.log", std::string(text)});
  return files;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  knock::AuditKey first_key{};
  if (size < first_key.size()) return 0;
  std::memcpy(first_key.data(), data, first_key.size());
  std::string_view text(reinterpret_cast<const char*>(data) + first_key.size(),
                        size - first_key.size());
  std::vector<knock::AuditFile> files = SplitFiles(text);
  knock::AuditVerifyResult result = knock::VerifyAuditFiles(first_key, files);
  if (!result.ok && result.message.empty()) std::abort();
  knock::FormatAuditVerifyResult(result);
  return 0;
}
