#pragma once
// The placeholders of the firewall "command" backend: the argv given in
// open_command and close_command may carry {ip} {family} {proto} {port}
// {timeout} {client} {service}, filled in per grant (no shell involved).

#include <string>
#include <string_view>
#include <vector>

namespace knock {

/// The placeholder names, without braces, in the order documentation lists
/// them.
const std::vector<std::string_view>& CommandPlaceholderNames();

/// Checks one argv element: every "{" opens a known placeholder that a "}"
/// closes. The error quotes the bad placeholder and suggests a near one:
/// `unknown placeholder "{prot}"; did you mean "{port}"?`.
bool CheckCommandPlaceholders(std::string_view arg, std::string* err);

}  // namespace knock
