#include "common/command_line.h"

namespace knock {

namespace {

const CommandLineOption* FindOption(
    const std::vector<CommandLineOption>& options, const std::string& name) {
  for (const CommandLineOption& option : options)
    if ((option.short_name != nullptr && name == option.short_name) ||
        (option.long_name != nullptr && name == option.long_name))
      return &option;
  return nullptr;
}

// A lone "-" is an argument (stdin, by convention), not an option.
bool IsOption(const std::string& arg) {
  return arg.size() > 1 && arg[0] == '-';
}

// "--wait=22" names "--wait"; short options never carry "=VALUE".
std::string OptionName(const std::string& arg) {
  return arg.rfind("--", 0) == 0 ? arg.substr(0, arg.find('=')) : arg;
}

// Takes the option at args[*i] (and its value); advances *i past the value.
bool TakeOption(const std::vector<std::string>& args,
                const CommandLineOption& option, const std::string& hint,
                size_t* i, std::string* err) {
  const std::string& arg = args[*i];
  const std::string name = OptionName(arg);
  const bool inline_value = name.size() != arg.size();
  if (option.flag != nullptr) {
    if (inline_value) {
      *err = "option " + name + " takes no value (" + hint + ")";
      return false;
    }
    *option.flag = true;
    return true;
  }
  if (inline_value) {
    *option.value = arg.substr(name.size() + 1);
  } else if (*i + 1 < args.size()) {
    *option.value = args[++*i];
  } else {
    *err = "option " + name + " needs a value (" + hint + ")";
    return false;
  }
  return true;
}

std::string UnknownOption(const std::string& arg, const std::string& hint) {
  return "unknown option \"" + OptionName(arg) + "\" (" + hint + ")";
}

}  // namespace

bool ParseCommandLine(const std::vector<std::string>& args,
                      const std::vector<CommandLineOption>& options,
                      const std::string& usage_hint,
                      std::vector<std::string>* positional, std::string* err) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      positional->insert(positional->end(), args.begin() + i + 1, args.end());
      return true;
    }
    if (!IsOption(arg)) {
      positional->push_back(arg);
      continue;
    }
    const CommandLineOption* option = FindOption(options, OptionName(arg));
    if (option == nullptr) {
      *err = UnknownOption(arg, usage_hint);
      return false;
    }
    if (!TakeOption(args, *option, usage_hint, &i, err)) return false;
  }
  return true;
}

bool ParseLeadingOptions(const std::vector<std::string>& args,
                         const std::vector<CommandLineOption>& options,
                         const std::string& usage_hint, bool pass_unknown,
                         size_t* rest, std::string* err) {
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--" || !IsOption(arg)) break;
    const CommandLineOption* option = FindOption(options, OptionName(arg));
    if (option == nullptr) {
      if (pass_unknown) break;
      *err = UnknownOption(arg, usage_hint);
      return false;
    }
    if (!TakeOption(args, *option, usage_hint, &i, err)) return false;
  }
  *rest = i;
  return true;
}

}  // namespace knock
