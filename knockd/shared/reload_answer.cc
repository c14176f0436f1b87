#include "knockd/shared/reload_answer.h"

#include <fcntl.h>
#include <time.h>
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
// Every kept answer fits in what a reader reads, whatever a refusal lists
// (every listening socket, every restart-only key).
constexpr size_t kMaxMessageBytes = 3000;
constexpr char kCutMark[] = " [...]";
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
  if (text.size() > kMaxMessageBytes)
    text = text.substr(0, kMaxMessageBytes - (sizeof kCutMark - 1)) + kCutMark;
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

}  // namespace

std::string ReloadAnswerPath(const std::string& state_dir) {
  return state_dir + "/knockd.reload";
}

int64_t ReloadClockNanos() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1000000000 + now.tv_nsec;
}

std::string EncodeReloadAnswer(const ReloadAnswer& answer) {
  return std::to_string(answer.request.sender) + " " +
         std::to_string(answer.request.token) + " " +
         std::to_string(answer.started_ns) + " " +
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
  if (verdict != kAccepted && verdict != kRefused) {
    if (!ParseNumber(verdict, &parsed.started_ns) || parsed.started_ns < 0 ||
        !(in >> verdict))
      return false;
  }
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

bool ParseReloadAnswers(const std::string& text,
                        std::vector<ReloadAnswer>* answers) {
  std::vector<ReloadAnswer> parsed;
  for (size_t start = 0; start < text.size();) {
    const size_t end = text.find('\n', start);
    if (end == std::string::npos) return false;
    ReloadAnswer answer;
    if (!ParseReloadAnswer(text.substr(start, end + 1 - start), &answer))
      return false;
    parsed.push_back(std::move(answer));
    start = end + 1;
  }
  *answers = std::move(parsed);
  return !answers->empty();
}

const ReloadAnswer* FindReloadAnswer(const std::vector<ReloadAnswer>& answers,
                                     const ReloadRequest& request,
                                     int64_t requested_ns) {
  for (const ReloadAnswer& answer : answers)
    if (answer.request == request) return &answer;
  for (const ReloadAnswer& answer : answers)
    if (answer.started_ns > requested_ns) return &answer;
  return nullptr;
}

bool WriteReloadAnswerFile(const std::string& path, const ReloadAnswer& answer,
                           std::string* err) {
  return WriteReloadAnswersFile(path, {answer}, err);
}

bool WriteReloadAnswersFile(const std::string& path,
                            const std::vector<ReloadAnswer>& answers,
                            std::string* err) {
  std::string text;
  const size_t first = answers.size() > kReloadAnswersKept
                           ? answers.size() - kReloadAnswersKept
                           : 0;
  for (size_t i = first; i < answers.size(); ++i)
    text += EncodeReloadAnswer(answers[i]);
  return ReplaceSmallFile(path, text, kAnswerFileMode, "reload answer", err);
}

bool ReadReloadAnswersFile(const std::string& path,
                           std::vector<ReloadAnswer>* answers) {
  std::ifstream in(path);
  if (!in) return false;
  std::string text(kMaxAnswerBytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return ParseReloadAnswers(text, answers);
}

bool ReadReloadAnswerFile(const std::string& path, ReloadAnswer* answer) {
  std::vector<ReloadAnswer> answers;
  if (!ReadReloadAnswersFile(path, &answers)) return false;
  *answer = answers.back();
  return true;
}

}  // namespace knock
