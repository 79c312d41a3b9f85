// llmgps: predicts how LLM workloads run on GPUs and clusters. The command line lives in app.cpp.
#include "common.hpp"

int main(int argc, char** argv) {
  return llmgps::cli::run(argc, argv);
}
