// Quoting of printed TOML: whatever the text, the stanza parses back to it.
#include <toml++/toml.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/toml_quote.h"

namespace {

// A stanza as `knockd client-config` prints it, parsed back.
toml::table ParseStanza(const std::string& server, const std::string& host) {
  const std::string text = "[server." + knock::QuoteTomlKey(server) + "]\n" +
                           "host = " + knock::QuoteTomlString(host) + "\n";
  INFO(text);
  return toml::parse(text);
}

std::string HostOf(const toml::table& doc, const std::string& server) {
  return doc["server"][server]["host"].value_or(std::string("<missing>"));
}

}  // namespace

TEST_CASE("Quoted strings and keys parse back to the same text") {
  const std::vector<std::string> hostile = {"h\"x",
                                            "a b]",
                                            "a.b",
                                            "]\nhost = \"evil\"\n[x",
                                            "back\\slash",
                                            "tab\there",
                                            "nl\nnl",
                                            "cr\rcr",
                                            "\b\f\x01\x1f",
                                            "del\x7f",
                                            "quote\"\"\"",
                                            "'single'",
                                            "#comment",
                                            "=",
                                            "[[client]]",
                                            "\xC3\xA9t\xC3\xA9",
                                            "\xF0\x9F\x94\x91",
                                            "\\u0041",
                                            " ",
                                            "-leading-dash"};
  for (const std::string& text : hostile) {
    INFO("text: " << text);
    const toml::table doc = ParseStanza(text, text);
    CHECK(HostOf(doc, text) == text);
    REQUIRE(doc["server"].as_table() != nullptr);
    CHECK(doc["server"].as_table()->size() == 1);
  }
}

TEST_CASE("The reported stanza of the bug prints as valid TOML") {
  CHECK(knock::QuoteTomlKey("a b]") == "\"a b]\"");
  CHECK(knock::QuoteTomlString("h\"x") == "\"h\\\"x\"");
  // Control: printed unquoted, as before, the stanza does not parse.
  CHECK_THROWS_AS(toml::parse("[server.a b]]\nhost = \"h\"x\"\n"),
                  toml::parse_error);
}

TEST_CASE("Bare keys only where TOML allows them") {
  CHECK(knock::QuoteTomlKey("bastion") == "bastion");
  CHECK(knock::QuoteTomlKey("Web_2-x") == "Web_2-x");
  CHECK(knock::QuoteTomlKey("a.b") == "\"a.b\"");
  CHECK(knock::QuoteTomlKey("") == "\"\"");
  CHECK(knock::QuoteTomlKey("\xC3\xA9") == "\"\xC3\xA9\"");
  CHECK_FALSE(knock::IsBareTomlKey("a b"));
  CHECK(knock::IsBareTomlKey("0-9"));
}

TEST_CASE("Escapes are the short forms TOML defines, else \\uXXXX") {
  CHECK(knock::QuoteTomlString("\b\t\n\f\r\"\\") ==
        "\"\\b\\t\\n\\f\\r\\\"\\\\\"");
  CHECK(knock::QuoteTomlString(std::string("\x00\x01\x7f", 3)) ==
        "\"\\u0000\\u0001\\u007F\"");
}

TEST_CASE("Bytes that are not UTF-8 become U+FFFD, so the document parses") {
  const std::vector<std::string> broken = {"\xff", "a\xC3", "\xC0\xAF",
                                           "\xED\xA0\x80", "\xF4\x90\x80\x80"};
  for (const std::string& text : broken) {
    INFO("text: " << text);
    const std::string quoted = knock::QuoteTomlString(text);
    CHECK(quoted.find("\xEF\xBF\xBD") != std::string::npos);
    const toml::table doc = toml::parse("v = " + quoted + "\n");
    CHECK(doc["v"].value<std::string>().has_value());
  }
  // Control: the raw byte in a basic string is refused by the parser.
  CHECK_THROWS_AS(toml::parse("v = \"\xff\"\n"), toml::parse_error);
}
