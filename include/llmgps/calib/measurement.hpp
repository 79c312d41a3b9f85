#pragma once
// Measurement tables a user brings to `llmgps validate`: one measured kernel or collective per CSV
// row, in one documented schema (docs/calibration.md, "Measurement schema"). The header names the
// columns; any order, unused ones may be left out or empty. Every row names its kind, the
// hardware (preset or file), the shape fields its kind needs, the measured value with its unit,
// and its source. Rows are validated as they are read: a bad row is an InputError naming the
// file, line and column.
#include <cstdint>
#include <string>
#include <vector>

namespace llmgps::calib {

enum class MeasurementKind {
  gemm,           // m, n, k, [batch], dtype
  grouped_gemm,   // groups, m (rows per group), n, k, dtype, [layout contiguous|masked]
  attention,      // batch, heads, seq, head_dim, dtype, impl, [causal], [pass], [kv_heads], [seq_k]
  allreduce,      // bytes (per GPU), [gpus], [dtype]
  allgather,      // bytes (nccl-tests' size: the gathered buffer), [gpus], [dtype]
  reducescatter,  // bytes (nccl-tests' size: each GPU's input), [gpus], [dtype]
  alltoall_dispatch,  // tokens (per GPU), hidden, top_k, experts, [gpus], [impl], [dtype]
  alltoall_combine,   // same fields as dispatch
  copy,               // bytes copied (device to device)
  softmax,            // rows, cols, [dtype]
  layernorm,          // rows, cols, [dtype]
  gelu,               // rows, cols, [dtype]
};
const char* kind_name(MeasurementKind k);

// What `value` measures. Times are GPU times of one call; throughputs are converted to times with
// the row's shape: tflops by the FLOP conventions of the cost models (2mnk per GEMM, the
// FlashAttention papers' count for attention), busbw_gbps by nccl-tests' bus bandwidth
// (all-reduce: 2(n-1)/n x bytes / time; all-gather, reduce-scatter: (n-1)/n), algbw_gbps as
// bytes / time (dispatch/combine: DeepEP's per-GPU bytes / time), gbps for copies as bytes read
// + written / time (bandwidthTest), and gelem_per_s as elements / time.
enum class MeasuredUnit { us, ms, s, tflops, busbw_gbps, algbw_gbps, gbps, gelem_per_s };
const char* unit_name(MeasuredUnit u);

struct Measurement {
  std::string file;
  int line = 0;  // 1-based line in the file
  MeasurementKind kind = MeasurementKind::gemm;
  std::string hw;     // GPU or system preset, or a path
  std::string impl;   // attention: fa2|fa3; gemm: library name (informative); dispatch:
                      // deepep-normal|deepep-ll|deepep-ll-rdma
  std::string dtype;  // empty where the kind has a default
  std::int64_t m = 0, n = 0, k = 0, batch = 0, groups = 0;
  std::int64_t heads = 0, kv_heads = 0, seq = 0, seq_k = 0, head_dim = 0;
  std::int64_t rows = 0, cols = 0;
  std::int64_t gpus = 0, tokens = 0, hidden = 0, top_k = 0, experts = 0;
  bool causal = false;
  std::string pass = "fwd";  // attention: fwd|bwd
  std::string layout;        // grouped_gemm: contiguous|masked
  double bytes = 0;
  double clock_ghz = 0;  // SM clock the source states the run was locked at (0: not stated)
  double value = 0;
  MeasuredUnit unit = MeasuredUnit::us;
  std::string source;   // where the number comes from (table, figure, commit)
  std::string cls;      // class the row is scored under (default: the kind's name)
  std::string harness;  // empty: GPU time; "python-sync": one synchronous call timed from Python
  std::string label;    // free text shown beside the shape (e.g. an operator name)
  std::string where() const { return file + ":" + std::to_string(line); }
};

// The columns the schema knows, in the order `write_measurements` uses.
const std::vector<std::string>& measurement_columns();

// Reads a measurement CSV. Throws InputError naming file:line and the column (name and number)
// for an unknown column, a missing required field, a non-numeric or out-of-range value, or a
// unit the kind cannot take.
std::vector<Measurement> read_measurements(const std::string& path);
std::vector<Measurement> parse_measurements(const std::string& text, const std::string& file);
// The CSV text of measurements in the schema (round-trips through parse_measurements).
std::string write_measurements(const std::vector<Measurement>& rows);

}  // namespace llmgps::calib
