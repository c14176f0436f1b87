#include "knockd/shared/sealed_memfd.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"

namespace knock {

namespace {

constexpr int kAllSeals =
    F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

bool Fail(const std::string& what, std::string* err) {
  *err = what + ": " + strerror(errno);
  return false;
}

}  // namespace

bool MakeSealedMemfd(const std::string& name, const std::string& text, int* fd,
                     std::string* err) {
  UniqueFd made(memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!made.valid()) return Fail("memfd_create", err);
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n =
        write(made.get(), text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Fail("writing the memfd", err);
    written += static_cast<size_t>(n);
  }
  if (fcntl(made.get(), F_ADD_SEALS, kAllSeals) != 0)
    return Fail("sealing the memfd", err);
  *fd = made.Release();
  return true;
}

bool ReadSealedMemfd(int fd, size_t max_bytes, std::string* text,
                     std::string* err) {
  const int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0) return Fail("reading the memfd's seals", err);
  if ((seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)) !=
      (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)) {
    *err = "the memfd is not sealed (seals " + std::to_string(seals) + ")";
    return false;
  }
  struct stat info;
  if (fstat(fd, &info) != 0) return Fail("fstat of the memfd", err);
  const size_t size = static_cast<size_t>(info.st_size);
  if (size > max_bytes) {
    *err = "the memfd holds " + std::to_string(size) + " bytes, more than " +
           std::to_string(max_bytes);
    return false;
  }
  std::string contents(size, '\0');
  size_t done = 0;
  while (done < size) {
    const ssize_t n = pread(fd, contents.data() + done, size - done,
                            static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Fail("reading the memfd", err);
    done += static_cast<size_t>(n);
  }
  *text = std::move(contents);
  return true;
}

}  // namespace knock
