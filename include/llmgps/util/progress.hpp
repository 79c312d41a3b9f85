#pragma once
// How long computations tell their caller how far they are (the CLI draws it on a terminal;
// everything else leaves it empty). Called from the computing thread with done <= total.
#include <cstddef>
#include <functional>

namespace llmgps::util {

using ProgressFn = std::function<void(std::size_t done, std::size_t total)>;

}  // namespace llmgps::util
