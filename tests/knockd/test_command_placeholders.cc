// Firewall command placeholders: only the seven known ones, braces closed.
#include <catch2/catch.hpp>

#include "knockd/shared/command_placeholders.h"

namespace {

std::string CheckError(const std::string& arg) {
  std::string err;
  REQUIRE_FALSE(knock::CheckCommandPlaceholders(arg, &err));
  return err;
}

}  // namespace

TEST_CASE("Every documented placeholder is accepted") {
  std::string err;
  for (const char* arg :
       {"{ip}", "{family}", "{proto}", "{port}", "{timeout}", "{client}",
        "{service}", "plain", "", "{ip}/{family}:{port}", "x}y"}) {
    INFO(arg);
    CHECK(knock::CheckCommandPlaceholders(arg, &err));
  }
  CHECK(knock::CommandPlaceholderNames().size() == 7);
}

TEST_CASE("Unknown placeholders are refused with a hint") {
  CHECK(CheckError("{prot}") ==
        "unknown placeholder \"{prot}\"; did you mean \"{proto}\"?");
  CHECK(CheckError("--to={addr}") ==
        "unknown placeholder \"{addr}\"; the placeholders are {ip} {family} "
        "{proto} {port} {timeout} {client} {service}");
  CHECK(CheckError("{}") ==
        "unknown placeholder \"{}\"; the placeholders are {ip} {family} "
        "{proto} {port} {timeout} {client} {service}");
  CHECK(CheckError("{IP}") ==
        "unknown placeholder \"{IP}\"; did you mean \"{ip}\"?");
  CHECK(CheckError("{ip}{") == "unclosed \"{\" in \"{ip}{\"");
}
