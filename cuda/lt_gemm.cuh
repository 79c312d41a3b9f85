#pragma once
// A cuBLASLt GEMM for the GPU tools (gpu_bench.cu, gpu_measure.cu): D = A x B in the "TN" layout
// FP8 requires, FP8 e4m3 or BF16 in, BF16 out, FP32 accumulate, optionally strided-batched; the
// operands hold random values in [-1, 1] (zeros would let the tensor cores idle their datapaths and
// understate power, hence overstate the clock a real GEMM sustains).
#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CHECK_CUDA(x)                                                        \
  do {                                                                       \
    cudaError_t e_ = (x);                                                    \
    if (e_ != cudaSuccess) {                                                 \
      std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #x, \
                   cudaGetErrorString(e_));                                  \
      std::exit(2);                                                          \
    }                                                                        \
  } while (0)
#define CHECK_LT(x)                                                                           \
  do {                                                                                        \
    cublasStatus_t s_ = (x);                                                                  \
    if (s_ != CUBLAS_STATUS_SUCCESS) {                                                        \
      std::fprintf(stderr, "%s:%d: %s failed: status %d\n", __FILE__, __LINE__, #x, int(s_)); \
      std::exit(2);                                                                           \
    }                                                                                         \
  } while (0)

namespace llmgps::cuda {

template <typename T>
__global__ void fill_uniform(T* p, std::size_t n, std::uint32_t seed) {
  for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n;
       i += std::size_t(gridDim.x) * blockDim.x) {
    std::uint32_t h = std::uint32_t(i) * 0x9E3779B1u ^ seed;  // a cheap integer hash
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    p[i] = T(float(h >> 8) * (2.0f / 16777216.0f) - 1.0f);
  }
}

// An algorithm's configuration as cuBLASLt reports it (cublasLtMatmulAlgoConfigGetAttribute): the
// tile, stages and cluster are enum ids (cublasLtMatmulTile_t, cublasLtMatmulStages_t,
// cublasLtClusterShape_t in cublasLt.h).
struct LtAlgoConfig {
  int id = 0, tile_id = 0, stages_id = 0, cluster_id = 0, splitk = 0, swizzle = 0, custom = 0;
  std::size_t workspace = 0;
};

struct LtGemm {
  cublasLtHandle_t lt{};
  cublasLtMatmulDesc_t op{};
  cublasLtMatrixLayout_t a{}, b{}, c{};
  cublasLtMatmulAlgo_t algo{};
  std::vector<cublasLtMatmulHeuristicResult_t> algos;  // the heuristic's candidates, best first
  void *A = nullptr, *B = nullptr, *C = nullptr, *ws = nullptr;
  std::size_t ws_bytes = 64ull << 20;
  float alpha = 1, beta = 0;
  bool ok = false;

  // D_i[m x n] = A_i[m x k] B_i[k x n] for i < batch. `want_algos`: how many of the heuristic's
  // candidates to keep; `sm_count_target` > 0 asks for kernels that use only that many SMs
  // (CUBLASLT_MATMUL_DESC_SM_COUNT_TARGET: the GEMM's side of an SM partition).
  LtGemm(std::int64_t m, std::int64_t n, std::int64_t k, bool fp8, std::int64_t batch = 1,
         int want_algos = 1, int sm_count_target = 0) {
    CHECK_LT(cublasLtCreate(&lt));
    const cudaDataType_t in = fp8 ? CUDA_R_8F_E4M3 : CUDA_R_16BF;
    const std::size_t esz = fp8 ? 1 : 2;
    const std::size_t na = std::size_t(m * k * batch), nb = std::size_t(k * n * batch);
    CHECK_CUDA(cudaMalloc(&A, na * esz));
    CHECK_CUDA(cudaMalloc(&B, nb * esz));
    CHECK_CUDA(cudaMalloc(&C, std::size_t(m * n * batch) * 2));
    CHECK_CUDA(cudaMalloc(&ws, ws_bytes));
    if (fp8) {
      fill_uniform<<<1024, 256>>>(static_cast<__nv_fp8_e4m3*>(A), na, 1u);
      fill_uniform<<<1024, 256>>>(static_cast<__nv_fp8_e4m3*>(B), nb, 2u);
    } else {
      fill_uniform<<<1024, 256>>>(static_cast<__nv_bfloat16*>(A), na, 1u);
      fill_uniform<<<1024, 256>>>(static_cast<__nv_bfloat16*>(B), nb, 2u);
    }
    CHECK_CUDA(cudaGetLastError());
    CHECK_LT(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t t = CUBLAS_OP_T, nn = CUBLAS_OP_N;
    CHECK_LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t));
    CHECK_LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &nn, sizeof nn));
    if (sm_count_target > 0)
      CHECK_LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_SM_COUNT_TARGET,
                                              &sm_count_target, sizeof sm_count_target));
    // Column-major: A stored k x m (transposed), B k x n, C m x n.
    CHECK_LT(cublasLtMatrixLayoutCreate(&a, in, std::uint64_t(k), std::uint64_t(m), k));
    CHECK_LT(cublasLtMatrixLayoutCreate(&b, in, std::uint64_t(k), std::uint64_t(n), k));
    CHECK_LT(cublasLtMatrixLayoutCreate(&c, CUDA_R_16BF, std::uint64_t(m), std::uint64_t(n), m));
    if (batch > 1) {
      const int count = int(batch);
      const std::int64_t sa = m * k, sb = k * n, sc = m * n;
      for (auto [layout, stride] : {std::pair{a, sa}, std::pair{b, sb}, std::pair{c, sc}}) {
        CHECK_LT(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                                                  &count, sizeof count));
        CHECK_LT(cublasLtMatrixLayoutSetAttribute(
            layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride));
      }
    }
    cublasLtMatmulPreference_t pref;
    CHECK_LT(cublasLtMatmulPreferenceCreate(&pref));
    CHECK_LT(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                  &ws_bytes, sizeof ws_bytes));
    algos.resize(std::size_t(want_algos > 0 ? want_algos : 1));
    int found = 0;
    cublasLtMatmulAlgoGetHeuristic(lt, op, a, b, c, c, pref, int(algos.size()), algos.data(),
                                   &found);
    cublasLtMatmulPreferenceDestroy(pref);
    algos.resize(std::size_t(found > 0 ? found : 0));
    ok = found > 0;
    if (ok) algo = algos[0].algo;
    CHECK_CUDA(cudaDeviceSynchronize());
  }
  LtGemm(const LtGemm&) = delete;
  LtGemm& operator=(const LtGemm&) = delete;
  void run(cudaStream_t s) {
    CHECK_LT(cublasLtMatmul(lt, op, &alpha, A, a, B, b, &beta, C, c, C, c, &algo, ws, ws_bytes, s));
  }
  // The i-th candidate from now on.
  void use(std::size_t i) { algo = algos.at(i).algo; }
  LtAlgoConfig config(std::size_t i) const {
    LtAlgoConfig k;
    auto get = [&](cublasLtMatmulAlgoConfigAttributes_t attr, int& out) {
      std::uint32_t v = 0;
      std::size_t written = 0;
      if (cublasLtMatmulAlgoConfigGetAttribute(&algos.at(i).algo, attr, &v, sizeof v, &written) ==
          CUBLAS_STATUS_SUCCESS)
        out = int(v);
    };
    get(CUBLASLT_ALGO_CONFIG_ID, k.id);
    get(CUBLASLT_ALGO_CONFIG_TILE_ID, k.tile_id);
    get(CUBLASLT_ALGO_CONFIG_STAGES_ID, k.stages_id);
    get(CUBLASLT_ALGO_CONFIG_CLUSTER_SHAPE_ID, k.cluster_id);
    get(CUBLASLT_ALGO_CONFIG_SPLITK_NUM, k.splitk);
    get(CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING, k.swizzle);
    get(CUBLASLT_ALGO_CONFIG_CUSTOM_OPTION, k.custom);
    k.workspace = algos.at(i).workspaceSize;
    return k;
  }
  ~LtGemm() {
    cudaFree(A), cudaFree(B), cudaFree(C), cudaFree(ws);
    cublasLtMatrixLayoutDestroy(a), cublasLtMatrixLayoutDestroy(b), cublasLtMatrixLayoutDestroy(c);
    cublasLtMatmulDescDestroy(op);
    cublasLtDestroy(lt);
  }
};

}  // namespace llmgps::cuda
