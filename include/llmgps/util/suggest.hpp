#pragma once
// "Did you mean": the known name closest to a mistyped one, for errors about unknown options,
// subcommands and presets.
#include <string>
#include <vector>

namespace llmgps::util {

// Edit distance (insertions, deletions, substitutions, adjacent transpositions).
int edit_distance(const std::string& a, const std::string& b);

// The candidate nearest to `word` when it is near enough to be a typo (distance at most 2, or a
// third of the word's length for long words; a candidate that starts with `word` also counts),
// else "". Ties go to the earlier candidate.
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

// " (did you mean 'X'?)" for closest(word, candidates), or "" when none is near.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace llmgps::util
