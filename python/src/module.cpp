// The `llmgps._llmgps` extension: each function fills a library-API request from its keyword
// arguments, runs the call with the GIL released and returns what `--format json` prints, as
// Python objects (the same renderer, report/api_report.hpp, so a number here is the number the
// CLI prints). The pure-Python layer (python/llmgps/) wraps these in typed results, names errors
// after its own arguments and carries the docstrings.
#include <fmt/format.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "llmgps/api/calib.hpp"
#include "llmgps/api/cost.hpp"
#include "llmgps/api/dropout.hpp"
#include "llmgps/api/estimate.hpp"
#include "llmgps/api/moe.hpp"
#include "llmgps/api/specs.hpp"
#include "llmgps/moe/planner.hpp"
#include "llmgps/report/api_report.hpp"
#include "llmgps/specs/error.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace llmgps::python {
namespace {

using Json = nlohmann::ordered_json;

// A JSON document as Python objects: objects to dicts (in order), arrays to lists.
py::object to_python(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return py::none();
    case Json::value_t::boolean:
      return py::bool_(j.get<bool>());
    case Json::value_t::number_integer:
      return py::int_(j.get<std::int64_t>());
    case Json::value_t::number_unsigned:
      return py::int_(j.get<std::uint64_t>());
    case Json::value_t::number_float:
      return py::float_(j.get<double>());
    case Json::value_t::string:
      return py::str(j.get_ref<const std::string&>());
    case Json::value_t::array: {
      py::list out(j.size());
      std::size_t i = 0;
      for (const auto& v : j) out[i++] = to_python(v);
      return out;
    }
    case Json::value_t::object: {
      py::dict out;
      for (const auto& [k, v] : j.items()) out[py::str(k)] = to_python(v);
      return out;
    }
    default:  // binary and discarded values never come out of the renderers
      throw std::logic_error("to_python: unexpected JSON value");
  }
}

// Runs `call(request)` without the GIL and returns its result's JSON as Python objects.
template <typename Request, typename Call>
py::object run(const Request& req, Call call) {
  decltype(call(req)) result;
  {
    py::gil_scoped_release unlocked;
    result = call(req);
  }
  return to_python(report::json(result));
}

// Runs `call(request)` without the GIL and returns `render(result)`: the text a command writes to
// a file (an SVG figure, a Chrome trace).
template <typename Request, typename Call, typename Render>
std::string run_text(const Request& req, Call call, Render render) {
  py::gil_scoped_release unlocked;
  return render(call(req));
}

py::object hw_list() {
  return to_python(report::json(api::hw_list()));
}

py::object hw_show(const std::string& ref) {
  return to_python(report::json(api::hw_show({ref})));
}

py::object model_list() {
  return to_python(report::json(api::model_list()));
}

py::object model_show(const std::string& ref) {
  return to_python(report::json(api::model_show({ref})));
}

// A model given as the text of a config.json (Python: a dict); `file` labels its errors.
py::object model_from_text(const std::string& text, const std::string& file,
                           const std::string& name) {
  api::ModelShowResult r{specs::model_from_json(text, file, name)};
  return to_python(report::json(r));
}

py::object cost_gemm(const std::string& hw, std::int64_t m, std::int64_t n, std::int64_t k,
                     std::int64_t batch, const std::string& dtype) {
  api::GemmRequest req;
  req.hw = hw;
  req.shape.m = m, req.shape.n = n, req.shape.k = k, req.shape.batch = batch;
  req.validate();
  req.dtype = dtype;
  return run(req, api::cost_gemm);
}

py::object cost_attention(const std::string& hw, std::int64_t batch, std::int64_t heads,
                          std::int64_t seq, std::int64_t head_dim, std::int64_t kv_heads,
                          std::int64_t seq_k, const std::string& dtype, bool causal,
                          const std::string& pass, const std::string& impl) {
  api::AttentionRequest req;
  req.hw = hw;
  auto& s = req.shape;
  s.batch = batch, s.heads = heads, s.seq_q = seq, s.head_dim = head_dim;
  s.kv_heads = kv_heads, s.seq_k = seq_k, s.causal = causal, s.impl = impl;
  req.dtype = dtype;
  if (pass != "fwd" && pass != "bwd")
    throw InputError("attention.pass", "must be 'fwd' or 'bwd', got '" + pass + "'");
  s.pass = pass == "bwd" ? AttnPass::bwd : AttnPass::fwd;
  return run(req, api::cost_attention);
}

py::object cost_elementwise(const std::string& hw, const std::string& kind, std::int64_t rows,
                            std::int64_t cols, const std::string& dtype) {
  api::ElementwiseRequest req;
  req.hw = hw;
  req.shape.kind = parse_elementwise_kind(kind, "elementwise.kind");
  req.shape.rows = rows, req.shape.cols = cols;
  req.dtype = dtype;
  return run(req, api::cost_elementwise);
}

py::object cost_collective(const std::string& collective, const std::string& system, double bytes,
                           int gpus, const std::string& algo) {
  api::AllreduceRequest req;
  req.collective = parse_collective_kind(collective, "collective");
  req.system = system, req.bytes = bytes, req.gpus = gpus;
  req.validate();
  req.algo = parse_collective_algo(req.collective, algo, collective + ".algo");
  return run(req, api::cost_allreduce);
}

py::object cost_alltoall(const std::string& system, double bytes_per_gpu, double skew, int gpus) {
  api::AlltoallRequest req;
  req.system = system, req.bytes_per_gpu = bytes_per_gpu, req.skew = skew, req.gpus = gpus;
  return run(req, api::cost_alltoall);
}

py::object cost_deepep(const std::string& system, std::int64_t tokens, std::int64_t hidden,
                       int top_k, int experts, int gpus, const std::string& mode,
                       const std::string& payload, int max_nodes_per_token) {
  api::DeepepRequest req;
  req.system = system;
  auto& a = req.shape;
  a.tokens_per_gpu = tokens, a.hidden = hidden, a.top_k = top_k, a.experts = experts;
  a.gpus = gpus, a.max_nodes_per_token = max_nodes_per_token;
  a.payload = DType::fp8;  // the counts first, as the CLI checks them
  req.validate();
  a.payload = parse_dtype(payload, "ep_alltoall.payload");
  a.mode = parse_ep_alltoall_mode(mode, "ep_alltoall.mode");
  return run(req, api::cost_deepep);
}

py::object cost_p2p(const std::string& system, double bytes, bool cross_node) {
  api::P2pRequest req;
  req.system = system, req.bytes = bytes, req.cross_node = cross_node;
  return run(req, api::cost_p2p);
}

// The step request estimate() and estimate_trace() share (the parse_* calls name their fields).
api::EstimateRequest step_request(const std::string& model, const std::string& system,
                                  std::int64_t batch, std::int64_t seq, const std::string& phase,
                                  const std::string& dtype, int tp, int ep,
                                  const std::string& layout, const std::string& impl,
                                  std::int64_t prompt, std::int64_t output, double memory_fraction,
                                  bool strict, bool cuda_graphs) {
  api::EstimateRequest req;
  req.model = model, req.system = system;
  req.prompt = prompt, req.output = output, req.strict = strict;
  auto& c = req.step;
  c.batch = batch, c.seq = seq, c.tp = tp, c.ep = ep, c.attn_impl = impl;
  c.memory_fraction = memory_fraction;
  c.cuda_graphs = cuda_graphs;
  req.serve = phase == "serve";
  c.phase = req.serve ? Phase::prefill : parse_phase(phase, "step.phase");
  req.dtype = dtype;  // "auto" resolved by the api for the model and GPU
  c.moe_layout = parse_moe_layout(layout, "step.layout");
  return req;
}

py::object estimate(const std::string& model, const std::string& system, std::int64_t batch,
                    std::int64_t seq, const std::string& phase, const std::string& dtype, int tp,
                    int ep, const std::string& layout, const std::string& impl, std::int64_t prompt,
                    std::int64_t output, double memory_fraction, bool strict, bool cuda_graphs) {
  return run(step_request(model, system, batch, seq, phase, dtype, tp, ep, layout, impl, prompt,
                          output, memory_fraction, strict, cuda_graphs),
             api::estimate);
}

// The same step as estimate(), rendered as the Chrome trace `estimate --trace` writes.
std::string estimate_trace(const std::string& model, const std::string& system, std::int64_t batch,
                           std::int64_t seq, const std::string& phase, const std::string& dtype,
                           int tp, int ep, const std::string& layout, const std::string& impl,
                           bool cuda_graphs) {
  return run_text(step_request(model, system, batch, seq, phase, dtype, tp, ep, layout, impl, 0, 0,
                               0.9, false, cuda_graphs),
                  api::estimate,
                  [](const api::EstimateResult& r) { return report::chrome_trace(r); });
}

// estimate over every combination of the lists (api::estimate_sweep); with svg, the figure
// `estimate --svg` draws instead of the result.
py::object estimate_sweep(const std::vector<std::string>& models,
                          const std::vector<std::string>& systems,
                          const std::vector<std::string>& phases,
                          const std::vector<std::string>& dtypes,
                          const std::vector<std::int64_t>& batches,
                          const std::vector<std::int64_t>& seqs, int tp, int ep,
                          const std::string& layout, const std::string& impl,
                          double memory_fraction, bool cuda_graphs, bool svg) {
  api::EstimateSweepRequest req;
  if (models.empty()) throw InputError("models", "empty list");
  if (systems.empty()) throw InputError("systems", "empty list");
  req.base = step_request(models.front(), systems.front(), 1, 512, "prefill", "auto", tp, ep,
                          layout, impl, 0, 0, memory_fraction, false, cuda_graphs);
  req.models = models, req.systems = systems, req.phases = phases, req.dtypes = dtypes;
  req.batches = batches, req.seqs = seqs;
  req.validate();
  if (!svg) return run(req, api::estimate_sweep);
  return py::str(run_text(req, api::estimate_sweep,
                          [](const api::EstimateSweepResult& r) { return report::svg(r); }));
}

py::object validate(const std::string& measurements, bool samples, int worst,
                    const std::string& loso) {
  api::ValidateRequest req;
  req.measurements = measurements, req.samples = samples, req.worst = worst, req.loso = loso;
  req.validate();
  return run(req, api::validate);
}

py::object calibrate(const std::string& data, const std::string& system, bool samples) {
  api::CalibrateRequest req;
  req.data = data, req.system = system, req.samples = samples;
  return run(req, api::calibrate);
}

py::object moe_stats(const std::string& trace, std::size_t batch_tokens, int experts,
                     bool transitions, bool stream, bool keep_warmup) {
  api::StatsRequest req;
  req.trace = trace, req.batch_tokens = batch_tokens, req.experts = experts;
  req.transitions = transitions, req.stream = stream, req.keep_warmup = keep_warmup;
  req.validate();
  return run(req, api::moe_stats);
}

py::object moe_predict(const std::string& train, const std::string& test, const std::string& groups,
                       std::size_t batch_tokens, bool keep_warmup) {
  api::PredictRequest req;
  req.train = train, req.test = test, req.groups = groups;
  req.batch_tokens = batch_tokens, req.keep_warmup = keep_warmup;
  req.validate();
  return run(req, api::moe_predict);
}

py::object moe_plan(const std::string& trace, const std::string& loads,
                    std::optional<moe::LoadMatrix> load_matrix, int gpus, int slots_per_gpu,
                    int nodes, int groups, const std::string& algo, int max_copies,
                    bool keep_warmup, const std::string& model) {
  api::PlanRequest req;
  req.trace = trace, req.loads = loads, req.load_matrix = std::move(load_matrix);
  req.gpus = gpus, req.slots_per_gpu = slots_per_gpu, req.nodes = nodes, req.groups = groups;
  req.algo = algo, req.max_copies = max_copies, req.keep_warmup = keep_warmup;
  req.model = model;
  req.validate();
  return run(req, api::moe_plan);
}

// The knobs advise and map share, from a dict the Python layer built (its keys are EpRequest's
// fields; the layer gives every one, with its defaults).
void fill_ep(api::EpRequest& r, const py::dict& ep) {
  r.model = ep["model"].cast<std::string>();
  r.system = ep["system"].cast<std::string>();
  if (!ep["link_gbps"].is_none()) r.link_gbps = ep["link_gbps"].cast<double>();
  r.batch = ep["batch"].cast<std::int64_t>();
  r.seq = ep["seq"].cast<std::int64_t>();
  r.phase = ep["phase"].cast<std::string>();
  r.dtype = ep["dtype"].cast<std::string>();
  r.layout = ep["layout"].cast<std::string>();
  r.algo = ep["algo"].cast<std::string>();
  r.error_model = ep["error_model"].cast<std::string>();
  r.predictors = ep["predictors"].cast<std::string>();
  r.points = ep["points"].cast<std::string>();
  r.expert_time = ep["expert_time"].cast<std::string>();
  r.error_cap = ep["error_cap"].cast<std::string>();
  r.slots_per_gpu = ep["slots_per_gpu"].cast<int>();
  r.replan_every = ep["replan_every"].cast<int>();
  r.replan_policy = ep["replan_policy"].cast<std::string>();
  r.batch_tokens = ep["batch_tokens"].cast<std::size_t>();
  r.memory_fraction = ep["memory_fraction"].cast<double>();
  r.strict = ep["strict"].cast<bool>();
  r.cuda_graphs = ep["cuda_graphs"].cast<bool>();
}

py::object moe_advise(const py::dict& ep, std::optional<double> skew, const std::string& shares,
                      const std::string& trace, const std::string& train, bool keep_warmup) {
  api::AdviseRequest req;
  fill_ep(req, ep);
  req.skew = skew, req.shares = shares, req.trace = trace, req.train = train;
  req.keep_warmup = keep_warmup;
  req.validate();
  return run(req, api::moe_advise);
}

py::object moe_advise_sweep(const py::dict& ep, std::optional<double> skew,
                            const std::string& shares, const std::string& trace,
                            const std::string& train, bool keep_warmup,
                            const std::vector<std::string>& phases,
                            const std::vector<std::int64_t>& batches,
                            const std::vector<std::int64_t>& seqs) {
  api::AdviseSweepRequest req;
  fill_ep(req.base, ep);
  req.base.skew = skew, req.base.shares = shares, req.base.trace = trace, req.base.train = train;
  req.base.keep_warmup = keep_warmup;
  req.phases = phases, req.batches = batches, req.seqs = seqs;
  req.validate();
  return run(req, api::moe_advise_sweep);
}

// The request map() and map_svg() share.
api::MapRequest map_request(const py::dict& ep, const std::vector<double>& skews,
                            const std::vector<double>& links, const std::vector<double>& batches) {
  api::MapRequest req;
  fill_ep(req, ep);
  req.skews = skews, req.links = links, req.batches = batches;
  req.validate();
  return req;
}

py::object moe_map(const py::dict& ep, const std::vector<double>& skews,
                   const std::vector<double>& links, const std::vector<double>& batches) {
  return run(map_request(ep, skews, links, batches), api::moe_map);
}

// The SVG `moe map --svg` draws, for the same request.
std::string moe_map_svg(const py::dict& ep, const std::vector<double>& skews,
                        const std::vector<double>& links, const std::vector<double>& batches) {
  return run_text(map_request(ep, skews, links, batches), api::moe_map,
                  [](const api::MapResult& r) { return report::svg(r); });
}

api::BlockSetup block_setup(const std::string& model, const std::string& hw,
                            const std::string& dtype, const std::string& scope,
                            const std::string& impl, double p, int bits, int rounds,
                            const std::vector<std::string>& what_ifs) {
  api::BlockSetup s;
  s.model = model, s.hw = hw, s.dtype = dtype, s.scope = scope, s.impl = impl;
  s.p = p, s.bits = bits, s.rounds = rounds, s.what_ifs = what_ifs;
  return s;
}

py::object dropout_block(const std::string& model, const std::string& hw, std::int64_t batch,
                         std::int64_t seq, const std::string& dtype, const std::string& scope,
                         const std::string& impl, double p, int bits, int rounds,
                         const std::vector<std::string>& what_ifs) {
  api::BlockRequest req;
  static_cast<api::BlockSetup&>(req) =
      block_setup(model, hw, dtype, scope, impl, p, bits, rounds, what_ifs);
  req.batch = batch, req.seq = seq;
  req.validate();
  return run(req, api::dropout_block);
}

py::object dropout_sweep(const std::string& model, const std::string& hw,
                         const std::vector<std::int64_t>& seqs,
                         const std::vector<std::int64_t>& batches, const std::string& dtype,
                         const std::string& scope, const std::string& impl, double p, int bits,
                         int rounds, const std::vector<std::string>& what_ifs,
                         const std::vector<std::string>& models,
                         const std::vector<std::string>& dtypes, bool svg) {
  api::SweepRequest req;
  static_cast<api::BlockSetup&>(req) =
      block_setup(model, hw, dtype, scope, impl, p, bits, rounds, what_ifs);
  req.seqs = seqs, req.batches = batches, req.models = models, req.dtypes = dtypes;
  req.validate();
  if (!svg) return run(req, api::dropout_sweep);
  return py::str(
      run_text(req, api::dropout_sweep, [](const api::SweepResult& r) { return report::svg(r); }));
}

// The bit-packed mask as a numpy array of uint32 words, and its summary.
py::tuple dropout_mask(std::uint64_t seed, std::uint64_t offset, std::int64_t batch,
                       std::int64_t heads, std::int64_t seq, std::int64_t seq_k, double p, int bits,
                       int rounds, int threads) {
  api::MaskRequest req;
  req.shape = {batch, heads, seq, seq_k};
  req.rng.seed = seed, req.rng.offset = offset, req.rng.p = p;
  req.rng.bits = bits, req.rng.rounds = rounds;
  req.threads = threads;
  req.validate();
  api::MaskResult r;
  {
    py::gil_scoped_release unlocked;
    r = api::dropout_mask(req);
  }
  py::array_t<std::uint32_t> words(py::ssize_t(r.words.size()));
  std::copy(r.words.begin(), r.words.end(), words.mutable_data());
  const py::dict summary = to_python(report::json(r, "")).cast<py::dict>();
  return py::make_tuple(std::move(words), summary);
}

// `count` Philox outputs as a [count, 4] uint32 array (the counter incremented after each).
py::array_t<std::uint32_t> philox(int rounds, std::array<std::uint32_t, 2> key,
                                  std::array<std::uint32_t, 4> counter, std::int64_t count) {
  api::PhiloxRequest req;
  req.rounds = rounds, req.key = key, req.counter = counter, req.count = count;
  req.validate();
  py::array_t<std::uint32_t> out({py::ssize_t(count), py::ssize_t(4)});
  std::uint32_t* at = out.mutable_data();
  py::gil_scoped_release unlocked;
  api::philox(req, [&](const std::uint32_t* words, std::size_t n) {
    at = std::copy(words, words + 4 * n, at);
  });
  return out;
}

// DeepSeek's rebalance_experts on a float32 [layers, experts] array: (phy2log [layers, replicas],
// log2phy [layers, experts, max count] padded with -1, logcnt [layers, experts]), all int64.
py::tuple eplb(const py::array_t<float, py::array::c_style | py::array::forcecast>& weight,
               int num_replicas, int num_groups, int num_nodes, int num_gpus) {
  if (weight.ndim() != 2)
    throw InputError("weight", "must be 2-D [layers, experts], got " +
                                   std::to_string(weight.ndim()) + " dimensions");
  const py::ssize_t L = weight.shape(0), E = weight.shape(1);
  if (L == 0 || E == 0) throw InputError("weight", "has no layers or no experts");
  const std::span<const float> loads(weight.data(), std::size_t(L) * std::size_t(E));
  // The outputs must fit in memory: phy2log holds layers x num_replicas entries, and the padded
  // log2phy layers x experts x (the most replicas of one expert) (checked once the plan is made).
  constexpr double kMaxEntries = double(std::int64_t(1) << 28);
  if (double(L) * num_replicas > kMaxEntries)
    throw InputError("num_replicas", fmt::format("{} layers x {} replicas is beyond the 2^28 "
                                                 "entries a plan may hold",
                                                 L, num_replicas));
  moe::ReplicaPlan plan;
  {
    py::gil_scoped_release unlocked;
    plan = moe::eplb_plan(loads, int(E),
                          moe::EplbConfig{num_replicas, num_groups, num_nodes, num_gpus});
  }
  const py::ssize_t R = num_replicas, C = plan.max_logcnt;
  if (double(L) * double(E) * double(C) > kMaxEntries)
    throw InputError("num_replicas",
                     fmt::format("log2phy [{}, {}, {}] is beyond the 2^28 entries a plan may hold "
                                 "(fewer redundant replicas)",
                                 L, E, C));
  py::array_t<std::int64_t> phy2log({L, R}), log2phy({L, E, C}), logcnt({L, E});
  std::int64_t* p2l = phy2log.mutable_data();
  std::int64_t* l2p = log2phy.mutable_data();
  std::int64_t* cnt = logcnt.mutable_data();
  std::fill_n(l2p, L * E * C, std::int64_t(-1));
  for (py::ssize_t l = 0; l < L; ++l) {
    std::copy_n(plan.phy2log[std::size_t(l)].data(), R, p2l + l * R);
    std::copy_n(plan.logcnt[std::size_t(l)].data(), E, cnt + l * E);
    // Each expert's replicas, in rank order, from the plan's compact log2phy.
    const int* begin = plan.log2phy_begin.data() + std::size_t(l) * std::size_t(E + 1);
    const int* slots = plan.log2phy_slots.data() + std::size_t(l) * std::size_t(R);
    for (py::ssize_t e = 0; e < E; ++e)
      std::copy(slots + begin[e], slots + begin[e + 1], l2p + (l * E + e) * C);
  }
  return py::make_tuple(std::move(phy2log), std::move(log2phy), std::move(logcnt));
}

}  // namespace
}  // namespace llmgps::python

PYBIND11_MODULE(_llmgps, m) {
  using namespace llmgps::python;
  m.doc() = "llmgps' C++ core; use the `llmgps` package, which wraps these.";
  // Input errors become llmgps.InputError(where, reason), a ValueError defined in Python.
  // Held for the process's life (a static py::object would be released after the interpreter).
  static py::handle input_error =
      py::object(py::module_::import("llmgps._errors").attr("InputError")).release();
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const llmgps::InputError& e) {
      py::object err = input_error(e.where(), e.reason());
      PyErr_SetObject(input_error.ptr(), err.ptr());
    }
  });

  m.def("hw_list", &hw_list);
  m.def("hw_show", &hw_show, "ref"_a);
  m.def("model_list", &model_list);
  m.def("model_show", &model_show, "ref"_a);
  m.def("model_from_text", &model_from_text, "text"_a, "file"_a, "name"_a);
  m.def("cost_gemm", &cost_gemm, "hw"_a, "m"_a, "n"_a, "k"_a, "batch"_a, "dtype"_a);
  m.def("cost_attention", &cost_attention, "hw"_a, "batch"_a, "heads"_a, "seq"_a, "head_dim"_a,
        "kv_heads"_a, "seq_k"_a, "dtype"_a, "causal"_a, "pass_"_a, "impl"_a);
  m.def("cost_elementwise", &cost_elementwise, "hw"_a, "kind"_a, "rows"_a, "cols"_a, "dtype"_a);
  m.def("cost_collective", &cost_collective, "collective"_a, "system"_a, "bytes"_a, "gpus"_a,
        "algo"_a);
  m.def("cost_alltoall", &cost_alltoall, "system"_a, "bytes_per_gpu"_a, "skew"_a, "gpus"_a);
  m.def("cost_deepep", &cost_deepep, "system"_a, "tokens"_a, "hidden"_a, "top_k"_a, "experts"_a,
        "gpus"_a, "mode"_a, "payload"_a, "max_nodes_per_token"_a);
  m.def("cost_p2p", &cost_p2p, "system"_a, "bytes"_a, "cross_node"_a);
  m.def("estimate", &estimate, "model"_a, "system"_a, "batch"_a, "seq"_a, "phase"_a, "dtype"_a,
        "tp"_a, "ep"_a, "layout"_a, "impl"_a, "prompt"_a, "output"_a, "memory_fraction"_a,
        "strict"_a, "cuda_graphs"_a);
  m.def("estimate_trace", &estimate_trace, "model"_a, "system"_a, "batch"_a, "seq"_a, "phase"_a,
        "dtype"_a, "tp"_a, "ep"_a, "layout"_a, "impl"_a, "cuda_graphs"_a);
  m.def("estimate_sweep", &estimate_sweep, "models"_a, "systems"_a, "phases"_a, "dtypes"_a,
        "batches"_a, "seqs"_a, "tp"_a, "ep"_a, "layout"_a, "impl"_a, "memory_fraction"_a,
        "cuda_graphs"_a, "svg"_a);
  m.def("validate", &validate, "measurements"_a, "samples"_a, "worst"_a, "loso"_a);
  m.def("calibrate", &calibrate, "data"_a, "system"_a, "samples"_a);
  m.def("moe_stats", &moe_stats, "trace"_a, "batch_tokens"_a, "experts"_a, "transitions"_a,
        "stream"_a, "keep_warmup"_a);
  m.def("moe_predict", &moe_predict, "train"_a, "test"_a, "groups"_a, "batch_tokens"_a,
        "keep_warmup"_a);
  m.def("moe_plan", &moe_plan, "trace"_a, "loads"_a, "load_matrix"_a, "gpus"_a, "slots_per_gpu"_a,
        "nodes"_a, "groups"_a, "algo"_a, "max_copies"_a, "keep_warmup"_a, "model"_a);
  m.def("moe_advise", &moe_advise, "ep"_a, "skew"_a, "shares"_a, "trace"_a, "train"_a,
        "keep_warmup"_a);
  m.def("moe_advise_sweep", &moe_advise_sweep, "ep"_a, "skew"_a, "shares"_a, "trace"_a, "train"_a,
        "keep_warmup"_a, "phases"_a, "batches"_a, "seqs"_a);
  m.def("moe_map", &moe_map, "ep"_a, "skews"_a, "links"_a, "batches"_a);
  m.def("moe_map_svg", &moe_map_svg, "ep"_a, "skews"_a, "links"_a, "batches"_a);
  m.def("dropout_block", &dropout_block, "model"_a, "hw"_a, "batch"_a, "seq"_a, "dtype"_a,
        "scope"_a, "impl"_a, "p"_a, "bits"_a, "rounds"_a, "what_ifs"_a);
  m.def("dropout_sweep", &dropout_sweep, "model"_a, "hw"_a, "seqs"_a, "batches"_a, "dtype"_a,
        "scope"_a, "impl"_a, "p"_a, "bits"_a, "rounds"_a, "what_ifs"_a, "models"_a, "dtypes"_a,
        "svg"_a);
  m.def("dropout_mask", &dropout_mask, "seed"_a, "offset"_a, "batch"_a, "heads"_a, "seq"_a,
        "seq_k"_a, "p"_a, "bits"_a, "rounds"_a, "threads"_a);
  m.def("philox", &philox, "rounds"_a, "key"_a, "counter"_a, "count"_a);
  m.def("eplb", &eplb, "weight"_a, "num_replicas"_a, "num_groups"_a, "num_nodes"_a, "num_gpus"_a);
}
