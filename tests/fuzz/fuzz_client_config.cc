// libFuzzer target: ParseClientConfig on arbitrary text. toml++ and every
// validator behind it see hostile input; a refusal must say why.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "knock/lib/client_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  knock::ClientConfig config;
  std::string err;
  if (!knock::ParseClientConfig(text, "fuzz.toml", &config, &err) &&
      err.empty()) {
    std::abort();
  }
  return 0;
}
