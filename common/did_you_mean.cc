#include "common/did_you_mean.h"

#include <algorithm>

namespace knock {

size_t EditDistance(std::string_view a, std::string_view b) {
  // One row of the classic table is enough: row[j] is the distance between
  // the first i bytes of a and the first j bytes of b.
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
      diagonal = above;
    }
  }
  return row[b.size()];
}

namespace {

bool EqualIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? a[i] - 'A' + 'a' : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? b[i] - 'A' + 'a' : b[i];
    if (x != y) return false;
  }
  return true;
}

}  // namespace

std::string DidYouMean(std::string_view word,
                       const std::vector<std::string_view>& known) {
  // "IP" for "ip" is a near miss however short the word.
  for (std::string_view candidate : known) {
    if (EqualIgnoringCase(word, candidate)) return std::string(candidate);
  }
  const size_t allowed = std::max<size_t>(2, word.size() / 3);
  std::string_view best;
  size_t best_distance = allowed + 1;
  for (std::string_view candidate : known) {
    size_t distance = EditDistance(word, candidate);
    // Replacing every byte is a different word, not a misspelling.
    bool rewrite = distance >= std::max(word.size(), candidate.size());
    if (distance < best_distance && !rewrite) {
      best = candidate;
      best_distance = distance;
    }
  }
  return std::string(best);
}

}  // namespace knock
