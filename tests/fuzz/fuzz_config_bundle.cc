// libFuzzer target: the configuration bundle the sniffer reads from the
// helper's sealed memfd, and the drop-in parsing behind it. A bundle the
// decoder accepts must re-encode to exactly its bytes; a refused
// configuration must say why.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "knockd/shared/server_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bundle(reinterpret_cast<const char*>(data), size);
  knock::ConfigSources sources;
  std::string err;
  if (!knock::DecodeConfigSources(bundle, &sources, &err)) {
    if (err.empty()) std::abort();
    return 0;
  }
  if (knock::EncodeConfigSources(sources) != bundle) std::abort();
  knock::ServerConfig config;
  if (!knock::ParseServerConfigSources(sources, &config, &err) && err.empty())
    std::abort();
  return 0;
}
