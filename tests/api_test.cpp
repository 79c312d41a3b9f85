// The library API alone (no CLI11 in this binary) computes every command's result, and its JSON
// and table are byte for byte what the CLI prints for the same request. The CLI runs as a
// separate process; both run in the source directory so relative paths read and print the same.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "llmgps/report/api_report.hpp"
#include "llmgps/report/output.hpp"
#include "llmgps/specs/error.hpp"
#include "test_util.hpp"

namespace {

using namespace llmgps;

struct Rendered {
  std::string json, table;
};

template <typename Result>
Rendered render(const Result& r) {
  // The CLI prints tables fitted to 100 columns (report::fit_lines); so do we.
  return {report::json_text(report::json(r)), report::fit_lines(report::table(r))};
}

// Runs `call` with the source directory as the working directory.
Rendered in_source(const std::function<Rendered()>& call) {
  const auto old = std::filesystem::current_path();
  std::filesystem::current_path(test::source_dir());
  try {
    Rendered r = call();
    std::filesystem::current_path(old);
    return r;
  } catch (...) {
    std::filesystem::current_path(old);
    throw;
  }
}

void expect_same_as_cli(const std::string& args, const std::function<Rendered()>& call) {
  const Rendered api = in_source(call);
  const auto json = test::run_cli_in(test::source_dir(), args + " --format json");
  ASSERT_EQ(json.code, 0) << args << ": " << json.err;
  EXPECT_EQ(api.json, json.out) << args;
  const auto table = test::run_cli_in(test::source_dir(), args);
  ASSERT_EQ(table.code, 0) << args << ": " << table.err;
  EXPECT_EQ(api.table, table.out) << args;
}

const std::string kTraceA = "../shared/data/traces/mixtral-8x7b-gsm8k-2problems.jsonl";
const std::string kTraceB = "../shared/data/traces/mixtral-8x7b-humaneval-2problems.jsonl";

TEST(Api, SpecsMatchTheCli) {
  expect_same_as_cli("hw list", [] { return render(api::hw_list()); });
  expect_same_as_cli("hw show h100-sxm5", [] { return render(api::hw_show({"h100-sxm5"})); });
  expect_same_as_cli("model list", [] { return render(api::model_list()); });
  expect_same_as_cli("model show mixtral-8x7b",
                     [] { return render(api::model_show({"mixtral-8x7b"})); });
}

TEST(Api, CostCommandsMatchTheCli) {
  expect_same_as_cli("cost gemm --hw h100-sxm5 --m 4096 --n 2048 --k 512 --dtype fp8", [] {
    api::GemmRequest r;
    r.hw = "h100-sxm5";
    r.shape.m = 4096, r.shape.n = 2048, r.shape.k = 512, r.shape.dtype = DType::fp8;
    return render(api::cost_gemm(r));
  });
  expect_same_as_cli(
      "cost attention --hw h100-sxm5 --batch 2 --heads 32 --seq 4096 --head-dim 128 --causal "
      "--impl fa3",
      [] {
        api::AttentionRequest r;
        r.hw = "h100-sxm5";
        r.shape.batch = 2, r.shape.heads = 32, r.shape.seq_q = 4096, r.shape.head_dim = 128;
        r.shape.causal = true, r.shape.impl = "fa3", r.shape.dtype = DType::bf16;
        return render(api::cost_attention(r));
      });
  expect_same_as_cli("cost elementwise --hw h200-sxm --kind layernorm --rows 8192 --cols 4096", [] {
    api::ElementwiseRequest r;
    r.hw = "h200-sxm";
    r.shape.kind = ElementwiseKind::layernorm;
    r.shape.rows = 8192, r.shape.cols = 4096;
    r.dtype = "auto";  // the CLI's default: bf16 on an H200
    return render(api::cost_elementwise(r));
  });
  expect_same_as_cli("cost allreduce --system 8x-h100-nvlink4 --bytes 16777216 --algo ring", [] {
    api::AllreduceRequest r;
    r.system = "8x-h100-nvlink4", r.bytes = 16777216, r.algo = CollectiveAlgo::ring;
    return render(api::cost_allreduce(r));
  });
  expect_same_as_cli("cost alltoall --system 4x-a100-nvlink3 --bytes-per-gpu 1e7 --skew 2", [] {
    api::AlltoallRequest r;
    r.system = "4x-a100-nvlink3", r.bytes_per_gpu = 1e7, r.skew = 2;
    return render(api::cost_alltoall(r));
  });
  expect_same_as_cli(
      "cost deepep --system 256x-h800-nvlink4-ndr400 --tokens 128 --hidden 7168 --top-k 8 "
      "--experts 256 --gpus 16 --mode deepep-ll",
      [] {
        api::DeepepRequest r;
        r.system = "256x-h800-nvlink4-ndr400";
        r.shape.tokens_per_gpu = 128, r.shape.hidden = 7168, r.shape.top_k = 8;
        r.shape.experts = 256, r.shape.gpus = 16, r.shape.mode = EpAllToAllMode::deepep_low_latency;
        return render(api::cost_deepep(r));
      });
  expect_same_as_cli("cost p2p --system 32x-h100-nvlink4-ndr400 --bytes 1e8 --cross-node", [] {
    api::P2pRequest r;
    r.system = "32x-h100-nvlink4-ndr400", r.bytes = 1e8, r.cross_node = true;
    return render(api::cost_p2p(r));
  });
}

TEST(Api, EstimateMatchesTheCli) {
  expect_same_as_cli(
      "estimate --model mixtral-8x7b --system 4x-a100-nvlink3 --batch 8 --seq 2048 --phase decode",
      [] {
        api::EstimateRequest r;
        r.model = "mixtral-8x7b", r.system = "4x-a100-nvlink3";
        r.step.batch = 8, r.step.seq = 2048, r.step.phase = Phase::decode;
        r.dtype = "auto";  // the CLI's default
        const auto e = api::estimate(r);
        // The CSV too, and the Chrome trace is the step's.
        EXPECT_EQ(report::csv(e),
                  test::run_cli_in(test::source_dir(),
                                   "estimate --model mixtral-8x7b --system 4x-a100-nvlink3 "
                                   "--batch 8 --seq 2048 --phase decode --format csv")
                      .out);
        return render(e);
      });
}

TEST(Api, ValidateAndCalibrateMatchTheCli) {
  expect_same_as_cli("validate --measurements data/measurements/public-gemm.csv --samples", [] {
    api::ValidateRequest r;
    r.measurements = "data/measurements/public-gemm.csv", r.samples = true;
    return render(api::validate(r));
  });
  expect_same_as_cli("validate --measurements data/measurements/public-collectives.csv --loso nvls",
                     [] {
                       api::ValidateRequest r;
                       r.measurements = "data/measurements/public-collectives.csv", r.loso = "nvls";
                       return render(api::validate(r));
                     });
  expect_same_as_cli("calibrate", [] { return render(api::calibrate({})); });
}

TEST(Api, MoeCommandsMatchTheCli) {
  expect_same_as_cli("moe stats --routing-trace " + kTraceA + " --stream", [] {
    api::StatsRequest r;
    r.trace = kTraceA, r.stream = true;
    return render(api::moe_stats(r));
  });
  expect_same_as_cli("moe predict --train " + kTraceA + " --test " + kTraceB, [] {
    api::PredictRequest r;
    r.train = kTraceA, r.test = kTraceB;
    return render(api::moe_predict(r));
  });
  expect_same_as_cli("moe plan --routing-trace " + kTraceA + " --gpus 4 --slots-per-gpu 3", [] {
    api::PlanRequest r;
    r.trace = kTraceA, r.gpus = 4, r.slots_per_gpu = 3;
    return render(api::moe_plan(r));
  });
  expect_same_as_cli("moe advise --model mixtral-8x7b --system 4x-a100-nvlink3 --skew 1.4", [] {
    api::AdviseRequest r;
    r.model = "mixtral-8x7b", r.system = "4x-a100-nvlink3", r.skew = 1.4;
    return render(api::moe_advise(r));
  });
  expect_same_as_cli(
      "moe advise --model mixtral-8x7b --system 4x-a100-nvlink3 --routing-trace " + kTraceA, [] {
        api::AdviseRequest r;
        r.model = "mixtral-8x7b", r.system = "4x-a100-nvlink3", r.trace = kTraceA;
        return render(api::moe_advise(r));
      });
  expect_same_as_cli(
      "moe map --model mixtral-8x7b --system 4x-a100-nvlink3 --skews 1.2,2.0 --links-gb-per-s "
      "50,300",
      [] {
        api::MapRequest r;
        r.model = "mixtral-8x7b", r.system = "4x-a100-nvlink3";
        r.skews = {1.2, 2.0}, r.links = {50, 300};
        return render(api::moe_map(r));
      });
}

TEST(Api, PlanSaysWhichEplbPolicyRan) {
  // DeepSeek's rebalance_experts runs hierarchically only when the groups divide over the nodes.
  api::PlanRequest r;
  r.load_matrix = moe::LoadMatrix(2, std::vector<double>(16, 1.0));
  r.gpus = 4, r.slots_per_gpu = 5, r.nodes = 2, r.groups = 4;
  EXPECT_EQ(api::moe_plan(r).eplb_policy, "hierarchical");
  r.nodes = 3, r.groups = 1;
  EXPECT_EQ(api::moe_plan(r).eplb_policy, "global");
  r.algo = "greedy";
  EXPECT_EQ(api::moe_plan(r).eplb_policy, "");
}

TEST(Api, SynthIsTheCliTrace) {
  api::SynthRequest r;
  r.config.layers = 2, r.config.tokens_per_sequence = 16;
  EXPECT_EQ(report::jsonl(api::moe_synth(r)),
            test::run_cli("moe synth --layers 2 --tokens 16").out);
}

TEST(Api, DropoutCommandsMatchTheCli) {
  expect_same_as_cli(
      "dropout block --model llama3-8b --hw h100-sxm5 --batch 1 --seq 8192 --scope train", [] {
        api::BlockRequest r;
        r.model = "llama3-8b", r.hw = "h100-sxm5", r.batch = 1, r.seq = 8192;
        return render(api::dropout_block(r));
      });
  expect_same_as_cli(
      "dropout sweep --model llama2-7b --hw h100-sxm5 --seqs 1024,4096 --batches 1,4", [] {
        api::SweepRequest r;
        r.model = "llama2-7b", r.hw = "h100-sxm5", r.seqs = {1024, 4096}, r.batches = {1, 4};
        return render(api::dropout_sweep(r));
      });
}

TEST(Api, PhiloxIsTheCliStream) {
  api::PhiloxRequest r;
  r.rounds = 7, r.key = {1, 2}, r.counter = {0xFFFFFFFFu, 4, 5, 6}, r.count = 5000;
  std::string out;
  api::philox(r, [&](const std::uint32_t* w, std::size_t n) { out += report::philox_lines(w, n); });
  EXPECT_EQ(
      out,
      test::run_cli("philox --rounds 7 --key 1,2 --counter 0xffffffff,4,5,6 --count 5000").out);
}

TEST(Api, MaskIsTheCliFile) {
  api::MaskRequest r;
  r.shape = {2, 3, 40, 24};
  r.rng.p = 0.2, r.rng.bits = 8, r.rng.rounds = 7, r.rng.seed = 42, r.rng.offset = 8;
  const auto m = api::dropout_mask(r);
  test::TempDir d;
  const auto cli = test::run_cli(
      "dropout mask --batch 2 --heads 3 --seq 40 --seq-k 24 --p 0.2 --bits 8 --rounds 7 --seed 42 "
      "--offset 8 --format json --file " +
      d.file("mask.bin"));
  ASSERT_EQ(cli.code, 0) << cli.err;
  EXPECT_EQ(test::slurp(d.file("mask.bin")),
            std::string(reinterpret_cast<const char*>(m.words.data()), 4 * m.words.size()));
  // The summary is the CLI's but for the wall time of the generation.
  auto api_json = report::json(m, d.file("mask.bin"));
  auto cli_json = nlohmann::ordered_json::parse(cli.out);
  api_json.erase("generate_s");
  cli_json.erase("generate_s");
  EXPECT_EQ(api_json.dump(2), cli_json.dump(2));
}

TEST(Api, StatsWithTransitionsMatchesTheCli) {
  expect_same_as_cli("moe stats --routing-trace " + kTraceA + " --transitions --batch-tokens 32",
                     [] {
                       api::StatsRequest r;
                       r.trace = kTraceA, r.transitions = true, r.batch_tokens = 32;
                       return render(api::moe_stats(r));
                     });
}

TEST(Api, ErrorsNameRequestFields) {
  api::GemmRequest g;
  g.hw = "h100-sxm5", g.shape.m = 0, g.shape.n = 1, g.shape.k = 1;
  try {
    (void)api::cost_gemm(g);
    FAIL() << "m = 0 accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), "gemm.m");
  }
  api::AdviseRequest a;
  a.model = "mixtral-8x7b", a.system = "4x-a100-nvlink3";
  try {
    a.validate();
    FAIL() << "no routing input accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), "advice.routing");
  }
  api::MapRequest m;
  m.model = "mixtral-8x7b", m.system = "4x-a100-nvlink3", m.skews = {1.2}, m.links = {100};
  m.batches = {2.5};
  EXPECT_THROW(m.validate(), InputError);
}

}  // namespace

// One model of a step: `moe advise` without duplication at skew 1.0 is `estimate` for the same
// model, system, batch, seq, phase and layout (issue 13: they once disagreed by 16%). dp-a2a needs
// the experts to divide the GPUs (DeepEP), so Qwen1.5-MoE's 60 on 8 runs the other two. Decode
// too: advise's expected-activation expert model reduces to estimate's at balanced routing.
TEST(Api, AdviseWithoutDuplicationAtSkewOneIsTheEstimate) {
  struct Case {
    const char *model, *system;
    std::int64_t batch, seq;
  };
  for (const Case& c : {Case{"mixtral-8x7b", "8x-h100-nvlink4", 1, 512},
                        Case{"qwen1.5-moe-a2.7b", "8x-h100-nvlink4", 1, 512},
                        Case{"olmoe-1b-7b", "8x-h100-nvlink4", 8, 512},
                        Case{"deepseek-v3", "32x-h100-nvlink4-ndr400", 4, 512}})
    for (const char* phase : {"prefill", "decode"})
      for (const char* layout : {"vllm-tp", "dp-a2a", "paper", "dp-agrs"}) {
        SCOPED_TRACE(std::string(c.model) + " " + layout + " " + phase);
        if (std::string(c.model) == "qwen1.5-moe-a2.7b" && std::string(layout) == "dp-a2a") {
          api::EstimateRequest e;
          e.model = c.model, e.system = c.system;
          e.step.moe_layout = MoeLayout::dp_a2a;
          EXPECT_THROW(api::estimate(e), InputError);
          continue;
        }
        api::AdviseRequest a;
        a.model = c.model, a.system = c.system, a.batch = c.batch, a.seq = c.seq;
        a.layout = layout;
        a.phase = phase;
        a.skew = 1.0;
        double none = -1;
        for (const auto& s : api::moe_advise(a).advice.strategies)
          if (s.strategy.name == "none") none = s.latency_s;
        api::EstimateRequest e;
        e.model = c.model, e.system = c.system;
        e.step.batch = c.batch, e.step.seq = c.seq;
        e.step.moe_layout = parse_moe_layout(layout, "layout");
        e.step.phase = parse_phase(phase, "phase");
        e.dtype = "auto";  // advise's default
        const double est = api::estimate(e).estimate.total_s;
        ASSERT_GT(none, 0);
        EXPECT_NEAR(none / est, 1.0, 0.01);
      }
}
