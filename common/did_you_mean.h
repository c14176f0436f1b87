#pragma once
// Suggestions for misspelled names: `did you mean "seq_timeout"?` turns an
// unknown-key error into its own fix.

#include <string>
#include <string_view>
#include <vector>

namespace knock {

/// Levenshtein distance (insertions, deletions, substitutions of bytes).
size_t EditDistance(std::string_view a, std::string_view b);

/// The entry of `known` closest to `word`, or "" when none is a likely
/// misspelling: at most max(2, a third of the word's length) edits and not a
/// change of every byte; a difference in case alone always counts. Ties go to
/// the earlier entry.
std::string DidYouMean(std::string_view word,
                       const std::vector<std::string_view>& known);

}  // namespace knock
