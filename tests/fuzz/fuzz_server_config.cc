// libFuzzer target: ParseServerConfig on arbitrary text. toml++ and every
// validator behind it see hostile input; a refusal must say why.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "knockd/shared/server_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  knock::ServerConfig config;
  std::string err;
  if (!knock::ParseServerConfig(text, "fuzz.toml", &config, &err) &&
      err.empty()) {
    std::abort();
  }
  return 0;
}
