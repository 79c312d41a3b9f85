#pragma once
// `philox`, `dropout mask|block|sweep` as library calls: Philox output words, bit-packed masks,
// and the transformer block under each dropout strategy. Errors name request fields
// ("block.dtype", "philox.count").
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "llmgps/dropout/block.hpp"
#include "llmgps/dropout/mask.hpp"
#include "llmgps/specs/hw.hpp"
#include "llmgps/specs/model.hpp"

namespace llmgps::api {

struct PhiloxRequest {
  int rounds = 10;
  std::array<std::uint32_t, 2> key{};
  std::array<std::uint32_t, 4> counter{};  // first word lowest
  std::int64_t count = 1;                  // outputs, incrementing the counter after each
  void validate() const;
};
// Calls `block(words, n)` with consecutive runs of n outputs (4 words each), in order, so any
// count streams in bounded memory.
void philox(const PhiloxRequest& r,
            const std::function<void(const std::uint32_t* words, std::size_t n)>& block);

struct MaskRequest {
  dropout::MaskShape shape{1, 1, 0, 0};  // seq_k 0: seq_q
  dropout::DropoutRng rng;
  int threads = 0;  // 0: all cores
  void validate() const;
};
struct MaskResult {
  dropout::MaskShape shape;
  dropout::DropoutRng rng;
  std::vector<std::uint32_t> words;  // the mask, layout in llmgps/dropout/mask.hpp
  double keep_fraction = 0;
  double expected_keep_fraction = 0;
  std::string philox_impl;  // avx512, avx2 or scalar
  double generate_s = 0;    // wall time of the generation
};
MaskResult dropout_mask(const MaskRequest& r);

// The block under dropout, shared by block and sweep.
struct BlockSetup {
  std::string model, hw;  // dense model preset or config.json; GPU preset or JSON
  // dtype "auto": fp8 where the GPU has it (FP8 training, the paper's setting), else bf16.
  std::string dtype = "auto", scope = "train", impl;
  double p = 0.1;
  int bits = 32, rounds = 10;  // PyTorch's: one 32-bit uniform per element from Philox4x32-10
  std::vector<std::string> what_ifs;  // the paper's assumptions (dropout::what_if_names, "paper")
  dropout::BlockConfig config(std::int64_t batch, std::int64_t seq) const;
  void validate() const;
};

struct BlockRequest : BlockSetup {
  std::int64_t batch = 1, seq = 4096;
};
struct BlockResult {
  BlockRequest request;
  ModelSpec model;
  GpuSpec gpu;
  dropout::BlockResult block;
};
BlockResult dropout_block(const BlockRequest& r);

struct SweepRequest : BlockSetup {
  std::vector<std::int64_t> seqs = {1024, 2048, 4096, 8192}, batches = {1, 2, 4};
  // Also over models and dtypes (empty: the setup's model and dtype); model-major, then dtype,
  // batch, seq.
  std::vector<std::string> models, dtypes;
  void validate() const;
};
struct SweepRow {
  std::string model, dtype;  // dtype resolved ("auto" for the GPU)
  std::int64_t batch = 0, seq = 0;
  dropout::BlockResult block;
};
struct SweepResult {
  SweepRequest request;
  std::vector<SweepRow> rows;  // batch-major
};
SweepResult dropout_sweep(const SweepRequest& r);

}  // namespace llmgps::api
