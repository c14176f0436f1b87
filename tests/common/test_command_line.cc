// The one command-line parser of knock and knockd.
#include <catch2/catch.hpp>

#include "common/command_line.h"

namespace {

struct Parsed {
  bool verbose = false;
  std::optional<std::string> wait;
  std::vector<std::string> positional;
  std::string err;
  bool ok = false;
};

Parsed Parse(const std::vector<std::string>& args) {
  Parsed p;
  p.ok = knock::ParseCommandLine(args,
                                 {{"-v", "--verbose", &p.verbose, nullptr},
                                  {nullptr, "--wait", nullptr, &p.wait}},
                                 "see: prog --help", &p.positional, &p.err);
  return p;
}

}  // namespace

TEST_CASE("Flags, options with values, --opt=value and positionals") {
  Parsed p = Parse({"bastion", "-v", "--wait", "22", "ssh"});
  REQUIRE(p.ok);
  CHECK(p.verbose);
  CHECK(p.wait == "22");
  CHECK(p.positional == std::vector<std::string>{"bastion", "ssh"});
  p = Parse({"--wait=2=2", "--verbose"});
  REQUIRE(p.ok);
  CHECK(p.wait == "2=2");
  CHECK(p.verbose);
  p = Parse({"--wait=", "-"});
  REQUIRE(p.ok);
  CHECK(p.wait == "");
  CHECK(p.positional == std::vector<std::string>{"-"});
}

TEST_CASE("After -- everything is positional") {
  const Parsed p = Parse({"-v", "--", "--wait", "-x"});
  REQUIRE(p.ok);
  CHECK(p.positional == std::vector<std::string>{"--wait", "-x"});
  CHECK_FALSE(p.wait.has_value());
}

TEST_CASE("A value may itself start with a dash") {
  const Parsed p = Parse({"--wait", "-v"});
  REQUIRE(p.ok);
  CHECK(p.wait == "-v");
  CHECK_FALSE(p.verbose);
}

TEST_CASE("Usage errors name the argument that was wrong") {
  CHECK(Parse({"--frob"}).err ==
        "unknown option \"--frob\" (see: prog --help)");
  CHECK(Parse({"--frob=1"}).err ==
        "unknown option \"--frob\" (see: prog --help)");
  CHECK(Parse({"-x"}).err == "unknown option \"-x\" (see: prog --help)");
  CHECK(Parse({"-v=1"}).err == "unknown option \"-v=1\" (see: prog --help)");
  CHECK(Parse({"--verbose=yes"}).err ==
        "option --verbose takes no value (see: prog --help)");
  CHECK(Parse({"a", "--wait"}).err ==
        "option --wait needs a value (see: prog --help)");
}

TEST_CASE("Leading options stop at the subcommand's name") {
  std::optional<std::string> config;
  bool help = false;
  const std::vector<knock::CommandLineOption> options = {
      {"-c", "--config", nullptr, &config}, {"-h", "--help", &help, nullptr}};
  size_t rest = 99;
  std::string err;
  REQUIRE(knock::ParseLeadingOptions({"-c", "f", "init", "--help"}, options,
                                     "see: prog --help", false, &rest, &err));
  CHECK(config == "f");
  CHECK(rest == 2);
  CHECK_FALSE(help);  // the subcommand's own --help

  REQUIRE(knock::ParseLeadingOptions({"--config=g", "--", "x"}, options,
                                     "see: prog --help", false, &rest, &err));
  CHECK(config == "g");
  CHECK(rest == 1);

  // Passing unknown options on: they belong to the default subcommand.
  REQUIRE(knock::ParseLeadingOptions({"--wait", "22", "bastion"}, options,
                                     "see: prog --help", true, &rest, &err));
  CHECK(rest == 0);
  // Refusing them: the program has no default subcommand with options.
  CHECK_FALSE(knock::ParseLeadingOptions(
      {"--wait", "22"}, options, "see: prog --help", false, &rest, &err));
  CHECK(err == "unknown option \"--wait\" (see: prog --help)");
  CHECK_FALSE(knock::ParseLeadingOptions({"-c"}, options, "see: prog --help",
                                         true, &rest, &err));
  CHECK(err == "option -c needs a value (see: prog --help)");
}
