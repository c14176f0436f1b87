#include "knock/lib/options.h"

namespace knock {

namespace {

const OptionSpec* FindSpec(const std::vector<OptionSpec>& specs,
                           const std::string& name) {
  for (const OptionSpec& spec : specs)
    if ((spec.short_name != nullptr && name == spec.short_name) ||
        (spec.long_name != nullptr && name == spec.long_name))
      return &spec;
  return nullptr;
}

bool IsOption(const std::string& arg) {
  return arg.size() > 1 && arg[0] == '-';
}

}  // namespace

bool ParseOptions(const std::vector<std::string>& args,
                  const std::vector<OptionSpec>& specs,
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
    const size_t equals = arg.rfind("--", 0) == 0 ? arg.find('=') : arg.npos;
    const std::string name = arg.substr(0, equals);
    const OptionSpec* spec = FindSpec(specs, name);
    if (spec == nullptr) {
      *err = "unknown option \"" + name + "\" (" + usage_hint + ")";
      return false;
    }
    if (spec->flag != nullptr && equals != arg.npos) {
      *err = "option " + name + " takes no value (" + usage_hint + ")";
      return false;
    }
    if (spec->flag != nullptr) {
      *spec->flag = true;
    } else if (equals != arg.npos) {
      *spec->value = arg.substr(equals + 1);
    } else if (i + 1 < args.size()) {
      *spec->value = args[++i];
    } else {
      *err = "option " + name + " needs a value (" + usage_hint + ")";
      return false;
    }
  }
  return true;
}

}  // namespace knock
