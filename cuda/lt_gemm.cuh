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

struct LtGemm {
  cublasLtHandle_t lt{};
  cublasLtMatmulDesc_t op{};
  cublasLtMatrixLayout_t a{}, b{}, c{};
  cublasLtMatmulAlgo_t algo{};
  void *A = nullptr, *B = nullptr, *C = nullptr, *ws = nullptr;
  std::size_t ws_bytes = 64ull << 20;
  float alpha = 1, beta = 0;
  bool ok = false;

  // D_i[m x n] = A_i[m x k] B_i[k x n] for i < batch.
  LtGemm(std::int64_t m, std::int64_t n, std::int64_t k, bool fp8, std::int64_t batch = 1) {
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
    cublasLtMatmulHeuristicResult_t h{};
    int found = 0;
    cublasLtMatmulAlgoGetHeuristic(lt, op, a, b, c, c, pref, 1, &h, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    ok = found > 0;
    if (ok) algo = h.algo;
    CHECK_CUDA(cudaDeviceSynchronize());
  }
  LtGemm(const LtGemm&) = delete;
  LtGemm& operator=(const LtGemm&) = delete;
  void run(cudaStream_t s) {
    CHECK_LT(cublasLtMatmul(lt, op, &alpha, A, a, B, b, &beta, C, c, C, c, &algo, ws, ws_bytes, s));
  }
  ~LtGemm() {
    cudaFree(A), cudaFree(B), cudaFree(C), cudaFree(ws);
    cublasLtMatrixLayoutDestroy(a), cublasLtMatrixLayoutDestroy(b), cublasLtMatrixLayoutDestroy(c);
    cublasLtMatmulDescDestroy(op);
    cublasLtDestroy(lt);
  }
};

}  // namespace llmgps::cuda
