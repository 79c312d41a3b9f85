#include "llmgps/api/dropout.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "llmgps/dropout/philox_stream.hpp"
#include "llmgps/specs/error.hpp"
#include "sweep_lists.hpp"

namespace llmgps::api {

void PhiloxRequest::validate() const {
  if (rounds < 1 || rounds > 64) throw InputError("philox.rounds", "must be in [1, 64]");
  if (count < 1 || count > (std::int64_t(1) << 32))
    throw InputError("philox.count", fmt::format("must be in [1, 2^32] (got {})", count));
}

void philox(const PhiloxRequest& r,
            const std::function<void(const std::uint32_t* words, std::size_t n)>& block) {
  r.validate();
  philox::Counter ctr{{r.counter[0], r.counter[1], r.counter[2], r.counter[3]}};
  const philox::Key key{{r.key[0], r.key[1]}};
  std::vector<std::uint32_t> buf(4 * 4096);
  for (std::int64_t done = 0; done < r.count;) {
    const std::size_t n = std::size_t(std::min<std::int64_t>(4096, r.count - done));
    philox::generate_stream(ctr, key, r.rounds, n, buf.data());
    block(buf.data(), n);
    ctr = philox::add(ctr, n);
    done += std::int64_t(n);
  }
}

void MaskRequest::validate() const {
  if (threads < 0) throw InputError("mask.threads", "must be >= 0");
  dropout::MaskShape s = shape;
  if (s.seq_k == 0) s.seq_k = s.seq_q;
  dropout::validate(s, rng);
}

MaskResult dropout_mask(const MaskRequest& r) {
  r.validate();
  MaskResult out;
  out.shape = r.shape;
  if (out.shape.seq_k == 0) out.shape.seq_k = out.shape.seq_q;
  out.rng = r.rng;
  const auto t0 = std::chrono::steady_clock::now();
  out.words = dropout::generate_mask(out.shape, r.rng, r.threads);
  out.generate_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.keep_fraction = dropout::keep_fraction(out.words, out.shape.elements());
  out.expected_keep_fraction =
      double(dropout::keep_threshold(r.rng) + 1) / std::ldexp(1.0, r.rng.bits);
  out.philox_impl = philox::impl_name(philox::resolve(philox::Impl::best));
  return out;
}

dropout::BlockConfig BlockSetup::config(std::int64_t batch, std::int64_t seq) const {
  dropout::BlockConfig c;
  c.batch = batch;
  c.seq = seq;
  c.dtype = dtype == "auto" ? DType::fp8 : parse_dtype(dtype, "block.dtype");
  c.scope = dropout::parse_scope(scope, "block.scope");
  c.rng.p = p;
  c.rng.bits = bits;
  c.rng.rounds = rounds;
  c.attn_impl = impl;
  c.what_ifs = dropout::expand_what_ifs(what_ifs, "block.what_if");
  return c;
}

void BlockSetup::validate() const {
  (void)dropout::keep_threshold(config(1, 1).rng);
}

namespace {
// The setup's dtype by name, "auto" resolved for the GPU: training with dropout in FP8 (the
// paper's setting) where the GPU has FP8, else BF16.
std::string resolved_dtype(const BlockSetup& s, const GpuSpec& gpu) {
  return std::string(dtype_name(resolve_dtype(s.dtype, gpu, true, "block.dtype")));
}
}  // namespace

BlockResult dropout_block(const BlockRequest& r) {
  r.validate();
  BlockResult out{r, specs::load_model(r.model), specs::load_gpu(r.hw), {}};
  out.request.dtype = resolved_dtype(r, out.gpu);
  out.block = dropout::block_dropout(out.model, out.gpu, out.request.config(r.batch, r.seq));
  return out;
}

void SweepRequest::validate() const {
  detail::require_dtypes(dtypes);
  detail::require_positive(seqs, "sweep.seqs");
  detail::require_positive(batches, "sweep.batches");
  BlockSetup::validate();
}

SweepResult dropout_sweep(const SweepRequest& r) {
  r.validate();
  const GpuSpec gpu = specs::load_gpu(r.hw);
  SweepResult out{r, {}};
  out.request.dtype = resolved_dtype(r, gpu);
  const std::vector<std::string> models =
      r.models.empty() ? std::vector<std::string>{r.model} : r.models;
  const std::vector<std::string> dtypes =
      r.dtypes.empty() ? std::vector<std::string>{r.dtype} : r.dtypes;
  for (const std::string& model : models) {
    if (model.empty()) throw InputError("block.model", "is required");
    const ModelSpec m = specs::load_model(model);
    for (const std::string& dtype : dtypes) {
      BlockSetup setup = r;
      setup.dtype = dtype;
      setup.dtype = resolved_dtype(setup, gpu);
      for (std::int64_t b : r.batches)
        for (std::int64_t q : r.seqs)
          out.rows.push_back(
              {m.name, setup.dtype, b, q, dropout::block_dropout(m, gpu, setup.config(b, q))});
    }
  }
  return out;
}

}  // namespace llmgps::api
