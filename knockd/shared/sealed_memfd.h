#pragma once
// Text handed from one process to another as an anonymous, sealed file:
// how the firewall helper gives a reloaded configuration to the chrooted
// sniffer, which can open no file itself.

#include <cstddef>
#include <string>

namespace knock {

/// Writes `text` into a new memfd named `name` and seals it against any
/// change; `*fd` is close-on-exec and positioned at the start.
bool MakeSealedMemfd(const std::string& name, const std::string& text, int* fd,
                     std::string* err);

/// Reads a whole sealed memfd of at most `max_bytes`; refuses one that is
/// not sealed against writes (it could change under the reader).
bool ReadSealedMemfd(int fd, size_t max_bytes, std::string* text,
                     std::string* err);

}  // namespace knock
