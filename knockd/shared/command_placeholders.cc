#include "knockd/shared/command_placeholders.h"

#include <algorithm>

#include "common/did_you_mean.h"

namespace knock {

const std::vector<std::string_view>& CommandPlaceholderNames() {
  static const std::vector<std::string_view> kNames = {
      "ip", "family", "proto", "port", "timeout", "client", "service"};
  return kNames;
}

namespace {

std::string UnknownPlaceholder(std::string_view name) {
  std::string message = "unknown placeholder \"{" + std::string(name) + "}\"";
  std::string suggestion = DidYouMean(name, CommandPlaceholderNames());
  if (!suggestion.empty()) {
    return message + "; did you mean \"{" + suggestion + "}\"?";
  }
  message += "; the placeholders are";
  for (std::string_view known : CommandPlaceholderNames()) {
    message += " {" + std::string(known) + "}";
  }
  return message;
}

}  // namespace

bool CheckCommandPlaceholders(std::string_view arg, std::string* err) {
  const auto& names = CommandPlaceholderNames();
  size_t open = arg.find('{');
  while (open != std::string_view::npos) {
    size_t close = arg.find('}', open);
    if (close == std::string_view::npos) {
      *err = "unclosed \"{\" in \"" + std::string(arg) + "\"";
      return false;
    }
    std::string_view name = arg.substr(open + 1, close - open - 1);
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      *err = UnknownPlaceholder(name);
      return false;
    }
    open = arg.find('{', close);
  }
  return true;
}

}  // namespace knock
