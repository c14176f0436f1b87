#include "knockd/shared/reload_answer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include "knockd/shared/replace_small_file.h"

namespace knock {

namespace {

constexpr mode_t kAnswerFileMode = 0644;
constexpr size_t kMaxAnswerBytes = 64 * 1024;
constexpr char kAccepted[] = "accepted";
constexpr char kRefused[] = "refused";

template <typename T>
bool ParseNumber(const std::string& text, T* out) {
  const auto [ptr, ec] =
      std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// The message is one line: a newline in it would end the record early.
std::string OneLine(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

}  // namespace

std::string ReloadAnswerPath(const std::string& state_dir) {
  return state_dir + "/knockd.reload";
}

std::string EncodeReloadAnswer(const ReloadAnswer& answer) {
  return std::to_string(answer.request.sender) + " " +
         std::to_string(answer.request.token) + " " +
         (answer.accepted ? kAccepted : kRefused) + " " +
         OneLine(answer.message) + "\n";
}

bool ParseReloadAnswer(const std::string& text, ReloadAnswer* answer) {
  if (text.empty() || text.back() != '\n') return false;
  std::istringstream in(text.substr(0, text.size() - 1));
  std::string sender, token, verdict;
  if (!(in >> sender >> token >> verdict)) return false;
  ReloadAnswer parsed;
  if (!ParseNumber(sender, &parsed.request.sender) ||
      !ParseNumber(token, &parsed.request.token))
    return false;
  if (verdict != kAccepted && verdict != kRefused) return false;
  parsed.accepted = verdict == kAccepted;
  in.get();  // the space before the message
  std::getline(in, parsed.message);
  *answer = std::move(parsed);
  return true;
}

bool WriteReloadAnswer(const std::string& state_dir, const ReloadAnswer& answer,
                       std::string* err) {
  return WriteReloadAnswerFile(ReloadAnswerPath(state_dir), answer, err);
}

bool ReadReloadAnswer(const std::string& state_dir, ReloadAnswer* answer) {
  return ReadReloadAnswerFile(ReloadAnswerPath(state_dir), answer);
}

bool WriteReloadAnswerFile(const std::string& path, const ReloadAnswer& answer,
                           std::string* err) {
  return ReplaceSmallFile(path, EncodeReloadAnswer(answer), kAnswerFileMode,
                          "reload answer", err);
}

bool ReadReloadAnswerFile(const std::string& path, ReloadAnswer* answer) {
  std::ifstream in(path);
  if (!in) return false;
  std::string text(kMaxAnswerBytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return ParseReloadAnswer(text, answer);
}

}  // namespace knock
